"""Documents in a real browser: a customer past the quota reads why on the upload page, in Chinese
and to a screen reader, and downloads what is on file (sealed on disk, the same bytes in the
browser); a manager changes a stage's time limit and finds the change, under their name, on the
stage's History page.

Screenshots in ``test-results/``: documents-quota-375-zh.png, admin-stage-history-1280-en.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from applications import services
from applications.choices import Stage
from applications.models import DocumentType, StageDefinition
from applications.tests.factories import make_draft
from common.storage import MAGIC
from tests.browser.pages import assert_accessible, screenshot, sign_in, signed_in_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17


def test_past_the_quota_the_upload_page_says_why_and_the_file_on_record_still_downloads(
    page: Page, live_server, customer, dealer, settings
):
    settings.DOCUMENT_QUOTA_FILES_PER_TYPE = 1
    draft = make_draft(customer=customer, dealer=dealer)
    services.application_submit(application=draft, actor=customer)
    application = services.precheck_run(application_id=draft.pk)
    assert application.stage == Stage.AWAITING_DOCUMENTS
    doc_type = DocumentType.objects.filter(stagedefinition__stage=Stage.UNDER_REVIEW).order_by("code").first()
    on_file = services.document_upload(
        application=application,
        document_type=doc_type,
        uploaded_file=SimpleUploadedFile("身份证.png", PNG, "image/png"),
        actor=customer,
    )
    assert (Path(django_settings.MEDIA_ROOT) / on_file.file.name).read_bytes().startswith(MAGIC)
    page.set_viewport_size({"width": 375, "height": 812})
    sign_in(page, live_server, customer)

    page.goto(
        f"{live_server.url}{reverse('applications:document_upload', args=[application.reference, doc_type.code])}"
    )
    page.set_input_files(
        "input[type=file]", files=[{"name": "again.png", "mimeType": "image/png", "buffer": PNG}]
    )
    page.locator("main form button[type=submit]").click()

    error = page.locator("#error_1_id_file")
    expect(error).to_contain_text(f"本申请的“{doc_type.name_zh_hans}”已有 1 份文件，已达单项上限。")
    expect(page.locator("input[type=file]")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "documents-quota-375-zh")
    assert_accessible(page, "documents-quota-375-zh")
    assert application.documents.count() == 1

    with page.expect_download() as download:
        page.locator(f"a[href$='{on_file.public_id}/']").click()
    assert Path(download.value.path()).read_bytes() == PNG


def test_a_manager_finds_their_change_of_a_time_limit_on_the_stages_history_page(
    browser: Browser, live_server, manager
):
    stage = StageDefinition.objects.get(stage=Stage.UNDER_REVIEW)
    context = signed_in_context(browser, live_server, manager, locale="en-US")
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page = context.new_page()

    page.goto(f"{live_server.url}{reverse('admin:applications_stagedefinition_change', args=[stage.pk])}")
    page.fill("#id_sla", "1 02:00:00")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_be_visible()
    page.goto(f"{live_server.url}{reverse('admin:applications_stagedefinition_change', args=[stage.pk])}")
    page.locator("a.historylink").click()

    screenshot(page, "admin-stage-history-1280-en")
    changes = page.locator("#content table tbody tr").first
    expect(changes).to_contain_text("manager")
    expect(changes).to_contain_text("Time limit: 1 day, 0:00:00 → 1 day, 2:00:00")
    latest = stage.history.latest()
    assert (latest.history_user, str(latest.sla)) == (manager, "1 day, 2:00:00")
    context.close()
