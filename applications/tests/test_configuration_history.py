"""Configuration keeps a history of who changed what and when (django-simple-history): a change
made in the admin is recorded with the signed-in user and shown on the object's History page; the
blacklist's history holds the keyed hash the table holds, never an ID number."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import connection
from django.forms.models import model_to_dict
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from applications.models import (
    BlacklistEntry,
    Dealer,
    DocumentType,
    LoanProduct,
    Reason,
    StageDefinition,
)
from applications.working_calendar import CalendarDay, WorkingCalendar
from common.pii import keyed_hash
from reviews.models import AssignmentRule

pytestmark = pytest.mark.django_db

CONFIGURATION = [
    StageDefinition,
    DocumentType,
    Reason,
    LoanProduct,
    Dealer,
    AssignmentRule,
    WorkingCalendar,
    CalendarDay,
    BlacklistEntry,
]


@pytest.mark.parametrize("model", CONFIGURATION, ids=lambda model: model.__name__)
def test_every_configuration_model_keeps_history_shown_in_its_admin(model):
    assert model.history.model._meta.db_table.endswith(f"historical{model._meta.model_name}")
    assert isinstance(admin.site._registry[model], SimpleHistoryAdmin)


def form_data(instance, **changes) -> dict:
    data = {key: value for key, value in model_to_dict(instance).items() if value is not None}
    return {**data, **changes}


def test_a_managers_change_of_a_reason_is_recorded_with_their_name(client, manager):
    reason = Reason.objects.filter(kind="delay").first()
    client.force_login(manager)
    client.cookies["django_language"] = "en"

    response = client.post(
        reverse("admin:applications_reason_change", args=[reason.pk]),
        form_data(reason, remedy_en="We will call you within one working day."),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = reason.history.latest()
    assert (latest.history_type, latest.history_user) == ("~", manager)
    assert latest.remedy_en == "We will call you within one working day."
    # The history starts with the configuration as it stood (the migrations' baseline rows).
    assert latest.prev_record.history_type == "+"
    assert [change.field for change in latest.diff_against(latest.prev_record).changes] == ["remedy_en"]
    page = client.get(reverse("admin:applications_reason_history", args=[reason.pk]))
    assert page.status_code == 200
    assert "manager" in page.content.decode()


def test_a_change_of_an_assignment_rule_names_who_made_it(client, manager):
    rule = AssignmentRule.objects.order_by("pk").first()
    client.force_login(manager)

    response = client.post(
        reverse("admin:reviews_assignmentrule_change", args=[rule.pk]), form_data(rule, priority=7)
    )

    assert response.status_code == 302
    latest = rule.history.latest()
    assert (latest.history_user, latest.priority) == (manager, 7)


def test_the_blacklist_history_holds_the_keyed_hash_never_the_id_number(admin_client, admin_user):
    id_number = "11010519491231002X"

    response = admin_client.post(
        reverse("admin:applications_blacklistentry_add"), {"id_number": id_number, "note": "court list"}
    )

    assert response.status_code == 302
    entry = BlacklistEntry.objects.get()
    (record,) = entry.history.all()
    assert (record.history_type, record.history_user, record.note) == ("+", admin_user, "court list")
    assert record.id_number_hash == entry.id_number_hash == keyed_hash(id_number)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {BlacklistEntry.history.model._meta.db_table}")  # noqa: S608
        rows = cursor.fetchall()
    assert rows and not any(id_number[:17] in str(value) for row in rows for value in row)

    admin_client.post(reverse("admin:applications_blacklistentry_delete", args=[entry.pk]), {"post": "yes"})

    assert entry.history.latest().history_type == "-"
    assert entry.history.latest().history_user == admin_user


def test_a_holiday_added_in_the_admin_is_in_the_calendars_history(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:applications_calendarday_add"),
        {"date": "2028-10-02", "is_working": "", "note": "国庆节"},
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    (record,) = CalendarDay.history.filter(date="2028-10-02")
    assert (record.history_type, record.history_user, record.note) == ("+", admin_user, "国庆节")
