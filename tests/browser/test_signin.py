"""Sign in with an API token, the session cookie, CSRF and sign out."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import APIRequestContext, Page, Request, expect

from demo.stack import Stack
from tests.browser.conftest import console_url, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_sign_in_session_cookie_and_sign_out(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    page.goto(console_url(seeded) + "/mass-sending/create")
    expect(page).to_have_url(console_url(seeded) + "/signin")
    page.get_by_label("API token").fill("wrong-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("invalid API token")
    expect(page.get_by_label("API token")).to_have_value("")
    shot(page, tmp_path, "signin")

    sign_in(page, seeded, seeded.token)
    expect(page).to_have_url(console_url(seeded) + "/mass-sending/create")
    expect(page.get_by_role("heading", name="Create")).to_be_visible()
    headers = page.request.get(console_url(seeded) + "/mass-sending/create").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert seeded.token not in cookie["value"]
    storage = page.evaluate("() => JSON.stringify([localStorage, sessionStorage]) + location.href")
    assert seeded.token not in storage

    # The cookie stands for the token on the API; writes need the CSRF header and our origin.
    api = console_url(seeded) + "/api/v1"
    assert page.request.get(api + "/campaigns").status == 200
    body = {"title": "t", "channel": "sms", "body": "x"}
    assert page.request.post(api + "/templates", data=body).status == 403
    csrf = page.evaluate(
        "() => JSON.parse(document.getElementById('herald-page').textContent).csrf"
    )
    foreign = {"X-CSRF-Token": csrf, "Origin": "http://evil.example"}
    assert page.request.post(api + "/templates", data=body, headers=foreign).status == 403
    own = {"X-CSRF-Token": csrf, "Origin": console_url(seeded)}
    assert page.request.post(api + "/templates", data=body, headers=own).status == 201

    # The first page after sign-in, everything it loads included (no cache), stays small.
    browser = page.context.browser
    assert browser is not None
    fresh = browser.new_context(storage_state=page.context.storage_state())
    first = fresh.new_page()
    sizes: dict[str, int] = {}

    def record(request: Request) -> None:
        response = request.response()
        sizes[request.url] = len(response.body()) if response is not None else 0

    first.on("requestfinished", record)
    first.goto(console_url(seeded) + "/")
    expect(first.locator("#matching")).to_contain_text("customers")
    weight = sum(sizes.values())
    fresh.close()
    (tmp_path / "first-page-bytes.txt").write_text(f"{weight}\n{sizes}\n")
    assert weight < 300_000, sizes

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(console_url(seeded) + "/signin")
    assert page.request.get(api + "/campaigns").status == 401
    page.goto(console_url(seeded) + "/")
    expect(page).to_have_url(console_url(seeded) + "/signin")
