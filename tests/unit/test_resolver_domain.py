from services.resolver.domain import CampaignContent, email_rows, portal_rows, rows_for, sms_rows

EXTRA = {"company": {"name": "NetCo"}, "campaign": {"id": 1}}


def _person(phone: str = "", **fields: object) -> dict[str, object]:
    return {"id": 42, "full_name": "Thandi", "phone": phone, "attributes": {}, **fields}


def _content(message: str = "x", **kwargs: object) -> CampaignContent:
    return CampaignContent(message=message, extra=EXTRA, **kwargs)  # type: ignore[arg-type]


def test_one_row_per_number_with_the_rendered_text() -> None:
    rows = sms_rows(_person("+27821234567, +27821234568"), _content("Hi {{ customer.name }}"))
    assert [(r.recipient, r.text, r.status, r.channel) for r in rows] == [
        ("+27821234567", "Hi Thandi", "new", "sms"),
        ("+27821234568", "Hi Thandi", "new", "sms"),
    ]


def test_missing_and_invalid_numbers_are_error_rows() -> None:
    rows = sms_rows(_person(""), _content())
    assert [(r.recipient, r.status, r.error) for r in rows] == [("", "error", "no phone number")]
    rows = sms_rows(_person("12, +27821234567"), _content())
    assert [(r.recipient, r.status) for r in rows] == [("12", "error"), ("+27821234567", "new")]


def test_template_error_is_a_row_error() -> None:
    rows = sms_rows(_person("+27821234567"), _content("{{ customer.attributes.balance }}"))
    assert rows[0].status == "error" and "balance" in (rows[0].error or "")


def test_ignore_notification_skips() -> None:
    rows = sms_rows(_person("+27821234567"), _content("=== IGNORE NOTIFICATION ==="))
    assert rows[0].status == "skipped"


def test_too_many_parts_is_refused_per_row() -> None:
    rows = sms_rows(_person("+27821234567"), _content("x" * 307, max_parts=2))
    assert rows[0].status == "error" and "3 SMS parts" in (rows[0].error or "")


def test_email_rows_escape_html_and_render_the_subject() -> None:
    person = _person(email="a@example.net", full_name="<b>Tom</b>")
    content = _content(
        "<p>Dear {{ customer.full_name }}</p>", subject="Hi {{ customer.full_name }}"
    )
    [row] = email_rows(person, content)
    assert row.channel == "email" and row.recipient == "a@example.net"
    assert row.text == "<p>Dear &lt;b&gt;Tom&lt;/b&gt;</p>"
    assert row.subject == "Hi <b>Tom</b>"  # a header: no HTML escaping


def test_billing_email_switch_and_fallback() -> None:
    content = _content("x", send_to_billing_email=True)
    [row] = email_rows(_person(email="a@x.net", billing_email="bill@x.net"), content)
    assert row.recipient == "bill@x.net"
    [row] = email_rows(_person(email="a@x.net"), content)
    assert (row.status, row.error) == ("skipped", "no billing email address")
    [row] = email_rows(_person(), _content())
    assert (row.status, row.error) == ("error", "no email address")
    [row] = email_rows(_person(email="not-an-address"), _content())
    assert (row.status, row.error) == ("error", "invalid email address")


def test_documents_rule() -> None:
    content = _content("x", wants_documents=True, only_if_documents=True, attachments=(5,))
    [row] = email_rows(_person(email="a@x.net"), content, documents=())
    assert row.status == "skipped" and "financial documents" in (row.error or "")
    [row] = email_rows(_person(email="a@x.net"), content, documents=(7, 8))
    assert (row.status, row.documents, row.attachments) == ("new", (7, 8), (5,))


def test_portal_email_gives_both_channels() -> None:
    rows = rows_for("portal_email", _person(email="a@x.net"), _content("hello"))
    assert [(r.channel, r.recipient) for r in rows] == [("email", "a@x.net"), ("portal", "portal")]
    [row] = portal_rows(_person(), _content("hello", subject="S"))
    assert (row.subject, row.text, row.status) == ("S", "hello", "new")
