"""Mass sending in the browser: create with filters, preview, send, watch it, send as test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import APIRequestContext, Page, expect

from demo.stack import Stack
from tests.browser.conftest import call, shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

HELLO = "Hi {{ customer.full_name }}"
ACTIVE_OF_PARTNER_1 = {"filters": {"status": ["active"], "partner_ids": [1]}, "send_to": "sms"}


def matching(rest: APIRequestContext, request: dict[str, object]) -> dict[str, object]:
    result: dict[str, object] = call(rest, "POST", "/campaigns/preview?limit=1000", request)
    return result


def fill_filters(page: Page) -> None:
    page.get_by_label("Status", exact=True).select_option(["active"])
    page.get_by_label("Partner", exact=True).select_option(label="Herald Fibre (1)")
    page.get_by_label("Message", exact=True).fill(HELLO)


def test_create_with_filters_preview_and_counter(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    expected = matching(rest, {**ACTIVE_OF_PARTNER_1, "message": HELLO})
    sign_in(page, seeded, seeded.token)
    expect(page.get_by_label("Location", exact=True)).to_contain_text("Cape Town (1)")
    expect(page.get_by_label("Tariff plans", exact=True)).to_contain_text("Fibre 25 Mbps (10)")
    for name in ("Recipient", "Login", "Full name", "Email", "Billing email", "Phone number",
                 "Category", "Type of billing", "Service", "Send to", "Templates"):  # fmt: skip
        expect(page.get_by_label(name, exact=True)).to_be_visible()
    fill_filters(page)
    total = expected["recipients_total"]
    expect(page.locator("#matching")).to_have_text(f"Matching recipients: {total} customers")
    expect(page.locator("#counter")).to_have_text(
        re.compile(r"Characters: \d+ · Encoding: (GSM-7|UCS-2) · Parts: 1")
    )
    shot(page, tmp_path, "create")

    page.get_by_role("button", name="Preview").click()
    dialog = page.get_by_role("dialog", name="Preview")
    expect(dialog.locator("#preview-message")).to_have_text(str(expected["message"]))
    expect(dialog.locator("#preview-parts")).to_contain_text(f"Parts: {expected['parts']}")
    shot(page, tmp_path, "preview")
    dialog.get_by_role("button", name="Close", exact=True).last.click()

    # Escaped as it will be sent: markup in a name is text, not HTML.
    call(rest, "PUT", "/customers", [{"id": 500, "login": "html", "full_name": "<b>Bold</b>"}])
    page.get_by_label("Status", exact=True).select_option([])
    page.get_by_label("Partner", exact=True).select_option([])
    page.get_by_label("Login", exact=True).fill("html")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-message")).to_have_text("Hi <b>Bold</b>")


def test_template_error_is_shown_at_the_message(page: Page, seeded: Stack, tmp_path: Path) -> None:
    sign_in(page, seeded, seeded.token)
    page.get_by_label("Message", exact=True).fill("Hi {{ customer.full_name")
    error = page.locator(".error[data-for='message']")
    expect(error).to_be_visible()
    expect(error).to_contain_text("expected")  # Jinja2's own words about the syntax
    shot(page, tmp_path, "template-error")
    page.get_by_label("Message", exact=True).fill(HELLO)
    expect(error).to_have_count(0)
    page.get_by_label("Templates", exact=True).select_option(label="Balance")
    expect(page.get_by_label("Message", exact=True)).to_have_value(HELLO)
    page.get_by_label("Message", exact=True).fill("Dear {{ customer.login }}")
    page.get_by_role("button", name="Save as new").click()
    page.get_by_role("dialog").get_by_label("Title", exact=True).fill("Login greeting")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.get_by_label("Templates", exact=True)).to_have_value(re.compile(r"^\d+$"))
    expect(page.get_by_label("Templates", exact=True).locator("option:checked")).to_have_text(
        "Login greeting"
    )


def test_email_with_subject_attachment_and_documents(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    smtp = {"host": "127.0.0.1", "port": 2525, "from_address": "noc@isp.example"}
    call(rest, "PUT", "/config/email", smtp)
    sign_in(page, seeded, seeded.token)
    page.get_by_label("Login", exact=True).fill("000001")
    page.get_by_label("Send to", exact=True).select_option(label="Email")
    for name in ("Subject", "Attachments"):
        expect(page.get_by_label(name, exact=True)).to_be_visible()
    page.get_by_label("Subject", exact=True).fill("Invoice for {{ customer.login }}")
    page.get_by_label("Message", exact=True).fill("Dear {{ customer.full_name }}")
    pdf = tmp_path / "terms.pdf"
    pdf.write_bytes(b"%PDF-1.4 terms")
    page.get_by_label("Attachments", exact=True).set_input_files(str(pdf))
    expect(page.locator("#uploaded")).to_have_text("Uploaded: terms.pdf")
    page.get_by_label("Invoices", exact=True).check()
    page.get_by_label("Send to billing email", exact=True).check()
    expect(page.locator("#matching")).to_have_text("Matching recipients: 1 customers")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("dialog", name="Preview")).to_contain_text(
        "Subject: Invoice for 000001"
    )
    shot(page, tmp_path, "email-preview")


def test_untick_two_rows_send_and_watch_it_reach_sent(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    expected = matching(rest, {**ACTIVE_OF_PARTNER_1, "message": HELLO})
    total = int(str(expected["recipients_total"]))
    sign_in(page, seeded, seeded.token)
    fill_filters(page)
    expect(page.locator("#matching")).to_have_text(f"Matching recipients: {total} customers")
    page.get_by_role("button", name="Send", exact=True).click()
    dialog = page.get_by_role("dialog", name="Send message")
    expect(dialog.locator("#send-notice")).to_have_text(
        f"Message will be sent to {total} customers"
    )
    rows = expected["recipients"]
    assert isinstance(rows, list)
    first, second = rows[0]["id"], rows[1]["id"]
    dialog.get_by_label(f"Send to #{first}", exact=True).uncheck()
    dialog.get_by_label("Table search", exact=True).fill(str(rows[1]["login"]))
    dialog.get_by_label(f"Send to #{second}", exact=True).uncheck()
    expect(dialog.locator("#send-notice")).to_have_text(
        f"Message will be sent to {total - 2} customers"
    )
    shot(page, tmp_path, "send")
    dialog.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(re.compile(r"/mass-sending/campaigns/\d+$"))
    expect(page.locator("#campaign-status")).to_have_text("Sent", timeout=60_000)
    expect(page.locator("#count-recipients")).to_have_text(str(total - 2))
    shot(page, tmp_path, "campaign")
    campaign_id = page.url.rsplit("/", 1)[1]
    campaign = call(rest, "GET", f"/campaigns/{campaign_id}")
    assert campaign["status"] == "sent" and campaign["recipients_total"] == total - 2
    sent_to = {r["id"] for r in call(rest, "GET", f"/campaigns/{campaign_id}/recipients")["items"]}
    assert first not in sent_to and second not in sent_to

    # Recipients with a status filter, and one recipient's message.
    page.get_by_label("Status", exact=True).select_option("error")
    expect(page.locator("#recipients")).to_contain_text("No entries")
    page.get_by_label("Status", exact=True).select_option("sent")
    page.get_by_role("button", name="View message").first.click()
    expect(page.locator("#view-message")).to_have_text(re.compile(r"^Hi "))
    shot(page, tmp_path, "view-message")


def test_send_as_test_asks_for_the_phone_number(
    page: Page, seeded: Stack, rest: APIRequestContext, tmp_path: Path
) -> None:
    sign_in(page, seeded, seeded.token)
    fill_filters(page)
    page.get_by_role("button", name="Send as test").click()
    dialog = page.get_by_role("dialog", name="Send as test")
    dialog.get_by_label("Phone number", exact=True).fill("12")
    dialog.get_by_role("button", name="Send", exact=True).click()
    expect(dialog.locator(".error[data-for='test_to']")).to_be_visible()
    dialog.get_by_label("Phone number", exact=True).fill("+27820000999")
    shot(page, tmp_path, "send-as-test")
    dialog.get_by_role("button", name="Send", exact=True).click()
    expect(dialog.locator("#test-sent")).to_have_text("Test message queued to +27820000999")
    logged = call(rest, "GET", "/logs/sms?type=test")
    assert logged["total"] >= 1 and logged["items"][0]["recipient"] == "+27820000999"


def test_leads_are_a_recipient_of_their_own(
    page: Page, seeded: Stack, rest: APIRequestContext
) -> None:
    lead = {"id": 1, "login": "lead1", "full_name": "Lee Lead", "phone": "+27820001111"}
    call(rest, "PUT", "/leads", [lead])
    sign_in(page, seeded, seeded.token)
    page.get_by_label("Recipient", exact=True).select_option(label="Lead")
    page.get_by_label("Message", exact=True).fill(HELLO)
    expect(page.locator("#matching")).to_have_text("Matching recipients: 1 leads")
    page.get_by_role("button", name="Send", exact=True).click()
    dialog = page.get_by_role("dialog", name="Send message")
    expect(dialog.locator("#send-notice")).to_have_text("Message will be sent to 1 leads")
    dialog.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#campaign-status")).to_have_text("Sent", timeout=60_000)
    page.get_by_role("button", name="View message").click()
    expect(page.locator("#view-message")).to_have_text("Hi Lee Lead")
