"""Phone numbers: split a directory field into numbers and normalise them to E.164."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers


@dataclass(frozen=True, slots=True)
class Number:
    """One number of a recipient: E.164 when valid, else the raw text and why it is not."""

    raw: str
    e164: str | None
    error: str | None = None


def split(field: str) -> list[str]:
    """The numbers of a comma- or semicolon-separated phone field, de-duplicated, in order."""
    seen: dict[str, None] = {}
    for part in field.replace(";", ",").split(","):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def normalise(raw: str, region: str | None) -> Number:
    """Parse ``raw`` (with ``region`` for numbers without +country) into E.164."""
    try:
        parsed = phonenumbers.parse(raw, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        reason = {
            phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
                "no country code (write +country or set HERALD_DEFAULT_REGION)"
            ),
            phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
            phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
            phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
            phonenumbers.NumberParseException.TOO_LONG: "too long",
        }.get(exc.error_type, "not a phone number")
        return Number(raw, None, f"invalid phone number: {reason}")
    if not phonenumbers.is_possible_number(parsed):
        return Number(raw, None, "invalid phone number: impossible length for its country")
    return Number(raw, phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def numbers(field: str, region: str | None) -> list[Number]:
    """Every number of a phone field, normalised; an empty field gives no numbers."""
    unique: dict[str, Number] = {}
    for raw in split(field):
        number = normalise(raw, region)
        unique.setdefault(number.e164 or raw, number)
    return list(unique.values())
