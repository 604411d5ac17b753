"""The campaign answer built from a stored row: hidden columns, request echoes, totals."""

from __future__ import annotations

from typing import Any

from services.campaign.campaigns.domain import campaign_view, history_row


def row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "recipient_type": "customer",
        "filters": {},
        "send_to": "sms",
        "subject": "",
        "template_id": None,
        "status": "processing",
        "failed_reason": None,
        "created_at": "2026-11-25T11:00:00Z",
        "updated_at": "2026-11-25T11:00:00Z",
        "started_at": None,
        "finished_at": None,
        "recipients_total": 10,
        "message": "Hello",
        "total": 10,
        "resolved_at": "2026-11-25T12:00:00Z",
        "request": {},
        "request_hash": "ab" * 32,
        "counts": {},
    }
    return base | fields


def test_the_stored_request_and_its_fingerprint_are_not_shown() -> None:
    view = campaign_view(row(request={"message": "Hello", "filters": {}})).model_dump()
    assert "request" not in view
    assert "request_hash" not in view
    assert view["id"] == 1


def test_the_email_options_of_the_request_are_echoed_and_nothing_else() -> None:
    request = {
        "send_to_billing_email": True,
        "attachments": [4, 5],
        "attach_financial_documents": ["invoice"],
        "only_if_financial_documents_exist": True,
        "idempotency_key": "k-1",
    }
    view = campaign_view(row(request=request))
    assert view.send_to_billing_email is True
    assert view.attachments == [4, 5]
    assert view.attach_financial_documents == ["invoice"]
    assert view.only_if_financial_documents_exist is True
    assert "idempotency_key" not in view.model_dump()


def test_options_absent_from_the_request_show_their_defaults() -> None:
    # A request stored before the email options existed: the answer still has every field.
    view = campaign_view(row(request=None))
    assert view.attachments == []
    assert view.send_to_billing_email is False
    assert view.attach_financial_documents == []
    assert view.only_if_financial_documents_exist is False


def test_while_resolving_the_total_is_what_the_ledger_holds_so_far() -> None:
    view = campaign_view(row(total=0, resolved_at=None, counts={"new": 3, "sent": 4, "error": 1}))
    assert view.total == 8
    assert view.counts == {"new": 3, "sent": 4, "error": 1}


def test_once_resolved_the_stored_total_stands() -> None:
    assert campaign_view(row(total=10, counts={"sent": 4})).total == 10


def test_with_no_messages_yet_the_stored_total_stands_even_while_resolving() -> None:
    assert campaign_view(row(total=0, resolved_at=None)).total == 0


def test_history_titles_by_subject_else_the_first_line_cut_to_120() -> None:
    assert history_row(row(subject="Invoice ready", message="x")).title == "Invoice ready"
    long_line = "y" * 200
    assert history_row(row(subject="", message=f"\n  {long_line}\nsecond")).title == "y" * 120
    assert history_row(row(subject="", message="")).title == ""


def test_history_rows_leave_out_the_filters() -> None:
    view = history_row(row(filters={"status": ["active"]}, counts={"sent": 1})).model_dump()
    assert "filters" not in view
    assert "request" not in view
