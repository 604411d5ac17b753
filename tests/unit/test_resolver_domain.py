from services.resolver.domain import sms_rows

CTX = {"company": {"name": "NetCo"}, "campaign": {"id": 1}}


def _person(phone: str, **attributes: object) -> dict[str, object]:
    return {"id": 42, "full_name": "Thandi", "phone": phone, "attributes": attributes}


def test_one_row_per_number_with_the_rendered_text() -> None:
    rows = sms_rows(
        _person("+27821234567, +27821234568"),
        "Hi {{ customer.name }}",
        CTX,
        region=None,
        max_parts=4,
    )
    assert [(r.recipient, r.text, r.status) for r in rows] == [
        ("+27821234567", "Hi Thandi", "new"),
        ("+27821234568", "Hi Thandi", "new"),
    ]


def test_missing_and_invalid_numbers_are_error_rows() -> None:
    assert [
        (r.recipient, r.status, r.error)
        for r in sms_rows(_person(""), "x", CTX, region=None, max_parts=4)
    ] == [("", "error", "no phone number")]
    rows = sms_rows(_person("12, +27821234567"), "x", CTX, region=None, max_parts=4)
    assert [(r.recipient, r.status) for r in rows] == [("12", "error"), ("+27821234567", "new")]


def test_template_error_is_a_row_error() -> None:
    rows = sms_rows(
        _person("+27821234567"), "{{ customer.attributes.balance }}", CTX, region=None, max_parts=4
    )
    assert rows[0].status == "error" and "balance" in (rows[0].error or "")


def test_ignore_notification_skips() -> None:
    rows = sms_rows(
        _person("+27821234567"), "=== IGNORE NOTIFICATION ===", CTX, region=None, max_parts=4
    )
    assert rows[0].status == "skipped"


def test_too_many_parts_is_refused_per_row() -> None:
    rows = sms_rows(_person("+27821234567"), "x" * 307, CTX, region=None, max_parts=2)
    assert rows[0].status == "error" and "3 SMS parts" in (rows[0].error or "")
