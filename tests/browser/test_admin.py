"""Logs, Config -> SMS and Email, Tokens and the Directory, in the browser."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import APIRequestContext, Page, expect

from demo.stack import Stack
from tests.browser.conftest import call, console_url, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def go(page: Page, stack: Stack, path: str) -> None:
    page.goto(console_url(stack) + path)


def test_sms_log_filters_and_details(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    campaign = call(
        rest,
        "POST",
        "/campaigns",
        {"send_to": "sms", "message": "Log {{ customer.login }}", "filters": {"login": "000007"}},
    )
    call(
        rest,
        "POST",
        "/campaigns/test",
        {
            "send_to": "sms",
            "message": "T",
            "test_to": "+27820000777",
            "filters": {"login": "000007"},
        },
    )
    sign_in(page, seeded, seeded.token)
    go(page, seeded, f"/mass-sending/campaigns/{campaign['id']}")
    expect(page.locator("#campaign-status")).to_have_text("Sent", timeout=30_000)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="SMS").first.click()
    rows = page.locator("#log tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Type", exact=True).select_option(label="Test")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("+27820000777")
    page.get_by_label("Type", exact=True).select_option(label="Message")
    page.get_by_label("Period", exact=True).select_option(label="Yesterday")
    expect(page.locator("#log")).to_contain_text("No entries")
    page.get_by_label("Period", exact=True).select_option(label="Today")
    page.get_by_label("Status", exact=True).select_option(label="Sent")
    expect(rows).to_have_count(1)
    rows.first.click()
    details = page.locator("#log-details")
    expect(details.locator("#log-text")).to_have_text("Log 000007")
    expect(details.locator("#log-answer")).to_contain_text("0|IN_PROGRESS|")
    expect(details).not_to_contain_text("sandbox-secret")
    shot(page, tmp_path, "sms-log")


def test_sms_config_presets_masked_secrets_test_and_resume(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    sign_in(page, seeded, seeded.token)
    go(page, seeded, "/config/sms")
    payload = page.get_by_label("Payload", exact=True)
    expect(payload).to_have_value(re.compile(r"password=\*\*\*"))
    page.get_by_label("Max parts", exact=True).fill("3")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#saved")).to_have_text("Saved")
    # The masked password was kept: the gateway still takes our messages.
    page.get_by_label("Phone number", exact=True).fill("+27820000555")
    page.get_by_role("button", name="Send test SMS").click()
    expect(page.locator("#test-answer")).to_contain_text("0|IN_PROGRESS|")
    assert call(rest, "GET", "/config/sms")["max_parts"] == 3
    shot(page, tmp_path, "sms-config")

    page.get_by_label("Preset", exact=True).select_option("BulkSMS JSON")
    expect(page.get_by_label("URL", exact=True)).to_have_value(
        "https://api.bulksms.com/v1/messages"
    )
    expect(page.get_by_label("Content type", exact=True)).to_have_value("json")
    page.get_by_label("Headers (JSON)", exact=True).fill("{nope")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".error[data-for='headers']")).to_have_text("not valid JSON")
    page.get_by_label("Expiry days", exact=True).fill("99")
    page.get_by_label("Headers (JSON)", exact=True).fill("{}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".error[data-for='expiry_days']")).to_be_visible()
    assert call(rest, "GET", "/config/sms")["url"].startswith(seeded.sandbox_url)

    # A gateway that refuses our credentials pauses sending; the console shows why and resumes.
    sandbox = seeded.sandbox_url + "/_sandbox/config"
    assert rest.put(sandbox, data={"error_code": 23}).ok
    call(
        rest,
        "POST",
        "/campaigns",
        {"send_to": "sms", "message": "x", "filters": {"login": "000008"}},
    )
    deadline = time.monotonic() + 30
    while not call(rest, "GET", "/config/sms")["paused"]:
        assert time.monotonic() < deadline, "the gateway never paused"
        time.sleep(0.2)
    assert rest.put(sandbox, data={"error_code": None}).ok
    go(page, seeded, "/config/sms")
    expect(page.locator("#paused")).to_contain_text("Sending is paused")
    shot(page, tmp_path, "sms-paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#paused")).to_be_hidden()
    assert call(rest, "GET", "/config/sms")["paused"] is None


def test_email_config_keeps_the_masked_password(
    page: Page, seeded: Stack, rest: APIRequestContext
) -> None:
    sign_in(page, seeded, seeded.token)
    go(page, seeded, "/config/email")
    page.get_by_label("Host", exact=True).fill("127.0.0.1")
    page.get_by_label("Port", exact=True).fill("2525")
    page.get_by_label("Password", exact=True).fill("smtp-secret")
    page.get_by_label("From address", exact=True).fill("noc@isp.example")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#saved")).to_have_text("Saved")
    expect(page.get_by_label("Password", exact=True)).to_have_value("***")
    page.get_by_label("From address", exact=True).fill("not-an-address")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".error[data-for='from_address']")).to_be_visible()
    expect(page.get_by_label("Password", exact=True)).to_have_value("***")  # nothing lost
    assert call(rest, "GET", "/config/email")["from_address"] == "noc@isp.example"


def test_tokens_created_shown_once_and_revoked(page: Page, seeded: Stack, tmp_path: Path) -> None:
    sign_in(page, seeded, seeded.token)
    go(page, seeded, "/tokens")
    page.get_by_label("Name", exact=True).fill("noc viewer")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_label("Partner", exact=True).select_option(label="Karoo Wireless (2)")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("hrd_")
    row = page.locator("#tokens tbody tr", has_text="noc viewer")
    expect(row).to_contain_text("Karoo Wireless")
    expect(row).not_to_contain_text(secret)
    shot(page, tmp_path, "tokens")
    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("Revoked")


def test_directory_is_searchable(page: Page, seeded: Stack, tmp_path: Path) -> None:
    sign_in(page, seeded, seeded.token)
    go(page, seeded, "/directory")
    rows = page.locator("#people tbody tr")
    expect(rows).to_have_count(25)
    page.get_by_label("Search", exact=True).fill("000012")
    expect(rows).to_have_count(1)
    rows.first.click()
    expect(page.locator("#person")).to_contain_text('"login": "000012"')
    shot(page, tmp_path, "directory")
