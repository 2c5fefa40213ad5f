"""The back office's fixtures: staff pages in English, and the pipeline that moves a file to any
stage (``builders.Pipeline``)."""

from __future__ import annotations

import pytest

from .builders import Pipeline


@pytest.fixture
def client():
    """Staff pages in English, so assertions can quote our source strings (Chinese is the default)."""
    from django.test import Client

    return Client(headers={"accept-language": "en"})


@pytest.fixture
def pipeline(customer, dealer, reviewer, approver, operations) -> Pipeline:
    return Pipeline(
        customer=customer, dealer=dealer, reviewer=reviewer, approver=approver, operations=operations
    )
