"""The OpenAPI document holds: schemathesis calls every operation (stateless, with a valid write
key, through Django's WSGI application in this process) and finds no server error and no answer
that breaks the document (status codes, content types, bodies, headers). Bounded so that the
whole run takes well under a minute.

Each operation's cases come from its hypothesis strategy (``APIOperation.as_strategy``) in one
ordinary test: schemathesis 4.32's lazy pytest loader (``schemathesis.pytest.from_fixture``)
reads ``Node._nodeid``, which pytest 9 no longer has, and a schema loaded at import time would
run before the test database exists.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.django_db

EXAMPLES = 40


@pytest.fixture
def wsgi_in_test_transaction():
    """Requests through the WSGI handler run in the test's transaction: the connection must
    outlive each request, as Django's own test client arranges."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_api_keeps_to_its_openapi_document(wsgi_in_test_transaction, own_file, writer):
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_in_test_transaction)
    headers = {"Authorization": writer["HTTP_AUTHORIZATION"]}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    for operation in operations:
        # Half the cases name the dealership's real file, so its answers are checked too.
        @given(case=operation.as_strategy(), real_file=st.booleans())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case, real_file):
            if real_file and "reference" in (case.path_parameters or {}):
                case.path_parameters["reference"] = own_file.reference
            # Not "positive data acceptance": a file's content (a PDF, by its first bytes), its
            # document type's code and the quotas are rules the document cannot state; requests
            # that break them are refused with 422, as documented.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()


def test_the_document_is_served_as_openapi_3(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/applications/" in document["paths"]
    assert document["components"]["securitySchemes"]["dealerKey"]["scheme"] == "bearer"


def test_the_document_is_valid_openapi_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
