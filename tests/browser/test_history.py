"""History filters and actions, and cancelling a slow campaign from its live page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import APIRequestContext, Page, Request, Route, expect

from demo.client import sandbox_sms_config
from demo.stack import Stack
from tests.browser.conftest import call, console_url, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SMS = {"send_to": "sms", "message": "Hello {{ customer.login }}"}


def test_history_filters_and_actions(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    sent = call(rest, "POST", "/campaigns", {**SMS, "filters": {"login": "000001"}})
    other = call(rest, "POST", "/campaigns", {**SMS, "filters": {"login": "000002"}})
    sign_in(page, seeded, seeded.token)
    page.goto(console_url(seeded) + f"/mass-sending/campaigns/{sent['id']}")
    expect(page.locator("#campaign-status")).to_have_text("Sent", timeout=30_000)
    page.goto(console_url(seeded) + f"/mass-sending/campaigns/{other['id']}")
    expect(page.locator("#campaign-status")).to_have_text("Sent", timeout=30_000)

    page.get_by_role("link", name="History").click()
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(2)
    for column in ("ID", "Send to", "Subject", "Created", "Status", "Recipients"):
        expect(page.locator("#history thead")).to_contain_text(column)
    page.get_by_label("Period", exact=True).select_option(label="Yesterday")
    expect(page.locator("#history")).to_contain_text("No entries")
    page.get_by_label("Period", exact=True).select_option(label="Today")
    expect(rows).to_have_count(2)
    page.get_by_label("Period", exact=True).select_option(label="Custom range")
    # The answer for From alone (every row) is held back: filling To must abort that request,
    # so its stale answer can never replace the newer filters' one.
    held: list[Route] = []

    def hold(route: Route) -> None:
        if stale(route.request):
            held.append(route)
        else:
            route.continue_()

    def stale(request: Request) -> bool:
        return "from=" in request.url and "to=" not in request.url

    page.route("**/api/v1/campaigns?*", hold)
    page.get_by_label("From", exact=True).fill("2020-01-01T00:00")
    with page.expect_event("requestfailed", predicate=stale):
        page.get_by_label("To", exact=True).fill("2020-02-01T00:00")
    expect(page.locator("#history")).to_contain_text("No entries")
    page.unroute("**/api/v1/campaigns?*")
    assert len(held) == 1
    page.get_by_label("Period", exact=True).select_option(label="Today")
    page.get_by_label("Status", exact=True).select_option(label="Sent")
    expect(rows).to_have_count(2)
    shot(page, tmp_path, "history")

    row = rows.filter(has=page.get_by_role("link", name=str(sent["id"]), exact=True))
    row.get_by_role("button", name="Customers list").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("000001")
    dialog.get_by_role("button", name="Close", exact=True).last.click()
    row.get_by_role("button", name="View message").click()
    expect(page.locator("#campaign-message")).to_have_text(SMS["message"])
    page.get_by_role("dialog").get_by_role("button", name="Close", exact=True).last.click()
    row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(1)
    page.get_by_label("Status", exact=True).select_option(label="Removed")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Removed")


def test_cancel_a_slow_campaign(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    call(rest, "PUT", "/config/sms", sandbox_sms_config(seeded.sandbox_url, rate_per_second=4))
    slow = call(rest, "POST", "/campaigns", SMS)
    sign_in(page, seeded, seeded.token)
    page.goto(console_url(seeded) + f"/mass-sending/campaigns/{slow['id']}")
    expect(page.locator("#campaign-status")).to_have_text("Processing", timeout=30_000)
    expect(page.locator("#count-sent")).not_to_have_text("0")
    expect(page.locator("#rate")).to_have_text(re.compile(r"^[1-9][\d.]* messages/s"))
    expect(page.locator("#eta")).to_have_text(re.compile(r"^\d+ s$"))
    shot(page, tmp_path, "campaign-running")
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#campaign-status")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#campaign-status")).to_have_text("Processing")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#campaign-status")).to_have_text("Cancelled", timeout=30_000)
    expect(page.locator("#count-cancelled")).not_to_have_text("0", timeout=30_000)
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    campaign = call(rest, "GET", f"/campaigns/{slow['id']}")
    assert campaign["status"] == "cancelled"
    assert 0 < campaign["counts"].get("sent", 0) < campaign["total"]
