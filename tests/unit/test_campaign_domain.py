"""The campaign API's pure rules: rendering checks before a campaign is accepted, and views."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.campaign.campaigns import domain
from shared import templates
from shared.sms import parts_over

NOW = datetime(2026, 11, 25, tzinfo=UTC)
VARIABLES: dict[str, Any] = {"company": {"name": "ISP"}, "campaign": {"id": None, "subject": ""}}


def _person(person_id: int, name: str = "Ann") -> dict[str, Any]:
    return {"id": person_id, "login": f"{person_id:06}", "full_name": name, "attributes": {}}


def _render(
    people: list[dict[str, Any]], source: str, max_parts: int | None = None
) -> domain.Rendering:
    renderings = domain.render_each(
        people, source, "For {{ customer.name }}", VARIABLES, html=False
    )
    return domain.check_renderings(people, renderings, max_parts)


def test_the_first_rendering_is_kept() -> None:
    rendering = _render([_person(1, "Ann"), _person(2, "Bob")], "Dear {{ customer.name }}")
    assert (rendering.text, rendering.subject) == ("Dear Ann", "For Ann")
    assert rendering.too_long == ()


def test_no_people_no_rendering() -> None:
    assert _render([], "Hi") == domain.Rendering(None, None)


def test_a_template_failing_for_one_recipient_names_it() -> None:
    people = [_person(1), {**_person(2), "attributes": {"balance": "x"}}]
    with pytest.raises(domain.RecipientProblem, match=r"\(for recipient 2\)") as caught:
        _render(people, "{{ customer.balance + 1 if customer.id == 2 else '' }}")
    assert caught.value.person_id == 2


def test_too_long_sms_lists_every_recipient_over_max_parts() -> None:
    people = [_person(1, "A"), _person(2, "B" * 400), _person(3, "C" * 400)]
    rendering = _render(people, "{{ customer.name }}", max_parts=1)
    assert rendering.too_long == ("recipient 2 needs 3 parts", "recipient 3 needs 3 parts")
    assert rendering.text == "A"


def test_length_is_not_checked_without_max_parts_or_for_ignored_renderings() -> None:
    people = [_person(1, "B" * 400)]
    assert _render(people, "{{ customer.name }}").too_long == ()
    ignored = "{{ '" + templates.IGNORE_NOTIFICATION + "' }}" + " " * 400
    assert _render(people, ignored, max_parts=1).too_long == ()


def test_parts_over() -> None:
    assert parts_over("x" * 160, 1) is None
    assert parts_over("x" * 161, 1) == 2
    assert parts_over("x" * 161, 2) is None


def _row(**extra: Any) -> dict[str, Any]:
    return {
        "id": 7,
        "recipient_type": "customer",
        "filters": {"status": ["active"]},
        "send_to": "sms",
        "subject": "",
        "message": "First line\nsecond",
        "template_id": None,
        "status": "processing",
        "failed_reason": None,
        "created_at": NOW,
        "updated_at": NOW,
        "started_at": NOW,
        "finished_at": None,
        "resolved_at": None,
        "recipients_total": 2,
        "total": 0,
        "request": {
            "send_to_billing_email": False,
            "attachments": [],
            "attach_financial_documents": ["invoice"],
            "only_if_financial_documents_exist": True,
        },
        "counts": {"new": 2, "sent": 1},
        **extra,
    }


def test_campaign_view_counts_the_ledger_while_resolving() -> None:
    view = domain.campaign_view(_row())
    assert view.total == 3, "not resolved yet: the ledger so far"
    assert view.attach_financial_documents == ["invoice"]
    assert view.only_if_financial_documents_exist is True
    assert domain.campaign_view(_row(resolved_at=NOW, total=5)).total == 5
    assert "request" not in view.model_dump()


def test_options_a_stored_request_lacks_show_their_defaults() -> None:
    # A request stored before the email options existed: the answer still has every field.
    view = domain.campaign_view(_row(request=None))
    assert (view.attachments, view.attach_financial_documents) == ([], [])
    assert view.send_to_billing_email is view.only_if_financial_documents_exist is False


def test_stored_filters_are_shown_as_stored() -> None:
    # A filter an older version stored and a newer validator would refuse still reads.
    view = domain.campaign_view(_row(filters={"colour": "red"}))
    assert view.filters == {"colour": "red"}


def test_history_row_title() -> None:
    assert domain.history_row(_row()).title == "First line"
    assert domain.history_row(_row(subject="Outage")).title == "Outage"
    assert domain.history_row(_row(message="x" * 300)).title == "x" * 120
    assert "filters" not in domain.history_row(_row()).model_dump()
