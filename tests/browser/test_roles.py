"""A viewer and a partner's operator see in the console what their tokens may do, no more."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from playwright.sync_api import APIRequestContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

from demo.stack import Stack
from tests.browser.conftest import call, console_url, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SMS = {"send_to": "sms", "message": "Hello {{ customer.login }}"}


def token(rest: APIRequestContext, role: str, partner_id: int | None = None) -> str:
    made = call(rest, "POST", "/tokens", {"role": role, "partner_id": partner_id, "name": role})
    return str(made["token"])


def test_viewer_reads_history_and_cannot_send(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    campaign = call(rest, "POST", "/campaigns", {**SMS, "filters": {"login": "000003"}})
    sign_in(page, seeded, token(rest, "viewer"))
    expect(page).to_have_url(console_url(seeded) + "/mass-sending/history")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="History")).to_be_visible()
    expect(nav.get_by_role("link", name="Create")).to_have_count(0)
    expect(page.locator("#history tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    page.goto(console_url(seeded) + f"/mass-sending/campaigns/{campaign['id']}")
    expect(page.locator("#campaign-status")).to_have_text("Sent", timeout=30_000)
    for name in ("Pause", "Resume", "Cancel"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    shot(page, tmp_path, "viewer-campaign")
    response = page.goto(console_url(seeded) + "/mass-sending/create")
    assert response is not None and response.status == 403
    expect(page.get_by_role("button", name="Send")).to_have_count(0)


def test_partner_operator_sees_only_its_partner(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    other = call(rest, "POST", "/campaigns", {**SMS, "filters": {"partner_ids": [1]}})
    own_count = call(rest, "POST", "/campaigns/preview", {**SMS, "filters": {"partner_ids": [2]}})[
        "recipients_total"
    ]
    sign_in(page, seeded, token(rest, "operator", partner_id=2))
    partner = page.get_by_label("Partner", exact=True)
    expect(partner.locator("option")).to_have_count(1)
    expect(partner).to_contain_text("Karoo Wireless (2)")
    page.get_by_label("Message", exact=True).fill(SMS["message"])
    expect(page.locator("#matching")).to_have_text(f"Matching recipients: {own_count} customers")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Save as new")).to_have_count(0)  # templates: shared
    shot(page, tmp_path, "partner-create")
    page.get_by_role("link", name="History").click()
    expect(page.locator("#history")).to_contain_text("No entries")
    page.goto(console_url(seeded) + f"/mass-sending/campaigns/{other['id']}")
    # Outside its partner a campaign does not exist for it (404, no existence oracle).
    expect(page.get_by_role("alert")).to_contain_text(f"no campaign with id {other['id']}")


def test_a_revoked_token_ends_its_sessions(
    page: Page, seeded: Stack, rest: APIRequestContext
) -> None:
    made = call(rest, "POST", "/tokens", {"role": "operator", "name": "short-lived"})
    sign_in(page, seeded, made["token"])
    expect(page.get_by_role("heading", name="Create")).to_be_visible()
    call(rest, "DELETE", f"/tokens/{made['id']}")
    # The page's own next API call may already be taking it to /signin: either way is right.
    with contextlib.suppress(PlaywrightError):
        page.reload()
    expect(page).to_have_url(console_url(seeded) + "/signin")
