"""The SLA report in a real browser: a manager signs in, opens the report from the navbar, changes
the range, downloads a CSV file; a reviewer is refused.

Screenshots in ``test-results/``: reports-sla-375-zh.png, reports-sla-375-en.png,
reports-sla-1280-zh.png, reports-sla-1280-en.png (full pages), reports-sla-403.png.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.roles import Role
from applications.choices import Powertrain, Stage
from reports.tests.builders import Step, file_with_history
from tests.browser.pages import SCREENSHOTS, assert_accessible, expect_no_sideways_scrolling, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Plum-blossom-1988"
H = dt.timedelta(hours=1)


@pytest.fixture
def people(django_user_model):
    from django.contrib.auth.models import Group

    def person(username: str, role: str, *, staff: bool = True, **names):
        user = django_user_model.objects.create_user(
            username=username, password=PASSWORD, email=f"{username}@example.cn", is_staff=staff, **names
        )
        user.groups.set(Group.objects.filter(name=role))
        return user

    return {
        "manager": person("he_jing", Role.MANAGER),
        "reviewer": person("liu_yang", Role.REVIEWER),
        "reviewer2": person("zhao_min", Role.REVIEWER),
        "approver": person("sun_jianguo", Role.APPROVER),
        "customer": person("wang_fang", Role.CUSTOMER, staff=False),
    }


@pytest.fixture
def book(people):
    """Forty files over the last eight weeks at three dealers: reviews of 1–30 h against a 24 h
    limit, approvals of 1–12 h against 8 h, a few rejections and files still open."""
    from applications.tests.factories import DealerFactory

    rng = random.Random(6)
    dealers = [
        DealerFactory(name=name) for name in ("华通汽车 Huatong", "申惠汽车 Shenhui", "鹏程汽车 Pengcheng")
    ]
    now = timezone.now()
    for n in range(40):
        submitted = now - dt.timedelta(days=rng.uniform(1, 56))
        entered = submitted + dt.timedelta(minutes=3)
        review = dt.timedelta(hours=rng.uniform(1, 30))
        reviewer = people["reviewer"] if n % 3 else people["reviewer2"]
        steps = [
            Step(Stage.SUBMITTED, submitted, actor=people["customer"]),
            Step(Stage.CREDIT_CHECK, submitted, due=submitted + dt.timedelta(minutes=10)),
            Step(Stage.UNDER_REVIEW, entered, due=entered + 24 * H),
        ]
        left = entered + review
        if left < now:
            if n % 7 == 0:
                steps.append(Step(Stage.REJECTED, left, actor=reviewer))
            else:
                steps.append(Step(Stage.APPROVAL, left, due=left + 8 * H, actor=reviewer))
                decided = left + dt.timedelta(hours=rng.uniform(1, 12))
                if decided < now:
                    steps.append(Step(Stage.OFFER_PENDING, decided, actor=people["approver"]))
        file_with_history(
            customer=people["customer"],
            dealer=dealers[n % 3],
            steps=steps,
            powertrain=Powertrain.BATTERY_ELECTRIC if n % 4 == 0 else Powertrain.FUEL,
            product_code="green_nev" if n % 4 == 0 else "standard",
        )


def preset(page: Page, days: int):
    return page.locator(f"main a[data-days='{days}']")


def sign_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    page.wait_for_load_state()


def test_a_manager_opens_the_report_changes_the_range_and_downloads_a_csv_file(
    page: Page, live_server, people, book
):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, "he_jing")

    # (Located by structure, not words: the report's own Chinese arrives when locale-notes/reports.tsv
    # is merged into the catalogue; the stage names are already there.)
    page.locator(".lp-navbar a[href='/reports/sla/']").click()
    page.wait_for_load_state()
    expect(page.locator("#stages table")).to_contain_text("人工审核中")
    expect(page.locator("#stages svg[role=img]")).to_be_visible()
    expect(preset(page, 90)).to_have_attribute("aria-current", "true")

    # A range of its own: the last 14 days, typed in.
    today = timezone.localdate()
    page.locator("#id_start").fill((today - dt.timedelta(days=13)).isoformat())
    page.locator("#id_end").fill(today.isoformat())
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert f"start={(today - dt.timedelta(days=13)).isoformat()}" in page.url
    expect(page.locator("#id_start")).to_have_value((today - dt.timedelta(days=13)).isoformat())
    expect(preset(page, 90)).not_to_have_attribute("aria-current", "true")

    # Then a preset.
    preset(page, 7).click()
    page.wait_for_load_state()
    expect(preset(page, 7)).to_have_attribute("aria-current", "true")

    with page.expect_download() as download_info:
        page.locator("#stages a[href*='format=csv']").click()
    download = download_info.value
    start = (today - dt.timedelta(days=6)).isoformat()
    assert download.suggested_filename == f"sla-stages-{start}-{today.isoformat()}.csv"
    content = download.path().read_text(encoding="utf-8")
    assert content.startswith("\ufeff阶段,")
    assert "人工审核中" in content and "wang_fang" not in content


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_report_reads_on_a_phone_and_a_desktop_in_both_languages(
    browser, live_server, people, book, width: int, language: str
):
    from django.test import Client

    client = Client()
    client.force_login(people["manager"])
    context = browser.new_context(
        locale=language, timezone_id="Asia/Shanghai", viewport={"width": width, "height": 900}
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server.url}/reports/sla/")

    expect(page.locator("#funnel svg[role=img]")).to_be_visible()
    expect(page.locator("#weekly svg[role=img]")).to_be_visible()
    expect_no_sideways_scrolling(page)
    # Each chart's text is at least 10 px high on screen: readable at 375 px.
    smallest = page.evaluate(
        "Math.min(...[...document.querySelectorAll('svg.lp-chart text')]"
        ".map(t => t.getBoundingClientRect().height).filter(h => h > 0))"
    )
    assert smallest >= 10, f"chart text {smallest:.1f} px high"
    screenshot(page, f"reports-sla-{width}-{'zh' if language == 'zh-CN' else 'en'}")
    assert_accessible(page, f"reports-sla-{width}-{'zh' if language == 'zh-CN' else 'en'}")
    assert errors == []
    context.close()


def test_a_reviewer_is_refused_the_report(page: Page, live_server, people):
    sign_in(page, live_server, "liu_yang")

    response = page.goto(f"{live_server.url}/reports/sla/")

    assert response is not None and response.status == 403
    expect(page.locator(".lp-navbar a[href='/reports/sla/']")).to_have_count(0)
    page.goto(f"{live_server.url}/")
    expect(page.locator(".lp-navbar a[href='/reports/sla/']")).to_have_count(0)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.goto(f"{live_server.url}/reports/sla/")
    page.screenshot(path=SCREENSHOTS / "reports-sla-403.png")
    expect(page.get_by_role("link", name="管理后台")).to_have_count(2)  # the navbar's and the page's
    assert_accessible(page, "reports-sla-403")
