import pytest

from shared.phones import normalise, numbers, split


def test_split_commas_semicolons_and_blanks() -> None:
    assert split(" +27 82 000 0001, ;+27820000002,,") == ["+27 82 000 0001", "+27820000002"]
    assert split("") == []


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+27 82 123 4567", None, "+27821234567"),
        ("082 123 4567", "ZA", "+27821234567"),
        ("(020) 7946 0018", "gb", "+442079460018"),
        ("+1-202-555-0147", "ZA", "+12025550147"),
    ],
)
def test_normalises_to_e164(raw: str, region: str | None, e164: str) -> None:
    assert normalise(raw, region).e164 == e164


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("082 123 4567", None, "no country code"),
        ("hello", "ZA", "not a phone number"),
        ("+27 8", None, "invalid phone number"),
    ],
)
def test_invalid_numbers_carry_a_reason(raw: str, region: str | None, reason: str) -> None:
    number = normalise(raw, region)
    assert number.e164 is None and number.error is not None and reason in number.error


def test_the_same_number_written_twice_counts_once() -> None:
    found = numbers("+27821234567, 082 123 4567", "ZA")
    assert [n.e164 for n in found] == ["+27821234567"]
