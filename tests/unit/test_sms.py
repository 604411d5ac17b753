import functools
import itertools
import random

import pytest

from shared.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    Segmentation,
    is_gsm7,
    max_characters,
    segment,
    split_parts,
)

EMOJI = "\U0001f600"  # 😀, outside the BMP: a surrogate pair in UTF-16
ZHE = "\u0436"  # Cyrillic small zhe, BMP, not GSM

GSM7_BASIC_CHARS = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e"
    "ÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION_CHARS = "\f^{}\\[]~|€"


def units_gsm7(text: str) -> int:
    return sum(2 if ch in GSM7_EXTENSION_CHARS else 1 for ch in text)


def units_ucs2(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- alphabet -----------------------------------------------------------------------------


def test_basic_table_has_127_user_characters() -> None:
    assert len(GSM7_BASIC_CHARS) == 127
    assert set(GSM7_BASIC_CHARS) == GSM7_BASIC
    assert "\x1b" not in GSM7_BASIC


def test_extension_table() -> None:
    assert set(GSM7_EXTENSION_CHARS) == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_every_basic_character_is_gsm7_and_costs_one_septet() -> None:
    for ch in GSM7_BASIC_CHARS:
        assert is_gsm7(ch), repr(ch)
        seg = segment(ch)
        assert seg == Segmentation("GSM-7", 1, 1, 1, 160), repr(ch)


def test_every_extension_character_is_gsm7_and_costs_two_septets() -> None:
    for ch in GSM7_EXTENSION_CHARS:
        assert is_gsm7(ch), repr(ch)
        assert segment(ch) == Segmentation("GSM-7", 1, 2, 1, 160), repr(ch)


def test_whole_basic_and_extension_alphabet_together() -> None:
    text = GSM7_BASIC_CHARS + GSM7_EXTENSION_CHARS
    seg = segment(text)
    assert seg.encoding == "GSM-7"
    assert seg.characters == 137
    assert seg.units == 127 + 20
    assert seg.parts == 1


@pytest.mark.parametrize(
    "ch",
    [
        "\x1b",  # the escape itself is not a user character
        "ç",  # only uppercase Ç is GSM
        "á",
        "í",
        "ó",
        "ú",
        "ê",
        "â",
        "Ë",
        "È",  # only É of the uppercase accented Es
        "`",
        "@\u0301",  # combining accent
        "\u03b1",  # Greek small alpha
        "\u0391",  # Greek capital alpha (looks like A)
        ZHE,
        EMOJI,
        "\t",
        "\x00",
        "\u00a0",  # no-break space
        "\u2019",  # right single quotation mark
        "\u201c",  # left double quotation mark
        "\u2026",  # ellipsis
        "\u2013",  # en dash
        "\u20ac\u0301",
        "$\u200b",  # zero-width space
    ],
)
def test_non_gsm_characters(ch: str) -> None:
    assert not is_gsm7(ch)
    assert not is_gsm7("Hello " + ch + " world")
    assert segment("Hello " + ch).encoding == "UCS-2"


def test_gsm_accented_characters() -> None:
    assert is_gsm7("éèùìòàÇÉÄÖÑÜäöñüÅåØøÆæß")
    assert is_gsm7("Ç")
    assert not is_gsm7("ç")
    assert is_gsm7("é")
    assert not is_gsm7("á")


def test_empty_string_is_gsm7() -> None:
    assert is_gsm7("")


def test_one_non_gsm_character_makes_whole_text_ucs2() -> None:
    text = "a" * 100 + "ç"
    seg = segment(text)
    assert seg == Segmentation("UCS-2", 101, 101, 2, 67)
    # The same text with uppercase Ç is GSM-7 and fits one part.
    assert segment("a" * 100 + "Ç") == Segmentation("GSM-7", 101, 101, 1, 160)


def test_extension_characters_cost_one_unit_in_ucs2() -> None:
    seg = segment("€{}[]" + ZHE)
    assert seg == Segmentation("UCS-2", 6, 6, 1, 70)


def test_crlf_are_gsm() -> None:
    seg = segment("line1\r\nline2\n")
    assert seg == Segmentation("GSM-7", 13, 13, 1, 160)


# --- empty text ---------------------------------------------------------------------------


def test_empty_text_is_zero_parts() -> None:
    assert segment("") == Segmentation("GSM-7", 0, 0, 0, 160)
    assert split_parts("") == []


# --- GSM-7 boundaries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "parts", "per_part"),
    [
        (1, 1, 160),
        (159, 1, 160),
        (160, 1, 160),
        (161, 2, 153),
        (305, 2, 153),
        (306, 2, 153),
        (307, 3, 153),
        (459, 3, 153),
        (460, 4, 153),
        (612, 4, 153),
        (613, 5, 153),
    ],
)
def test_gsm7_plain_boundaries(length: int, parts: int, per_part: int) -> None:
    text = "a" * length
    seg = segment(text)
    assert seg == Segmentation("GSM-7", length, length, parts, per_part)
    assert len(split_parts(text)) == parts


def test_gsm7_parts_hold_153_septets() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(400))
    parts = split_parts(text)
    assert [len(p) for p in parts] == [153, 153, 94]
    assert "".join(parts) == text


def test_gsm7_161_chars_split_153_plus_8() -> None:
    parts = split_parts("x" * 161)
    assert [len(p) for p in parts] == [153, 8]


def test_gsm7_single_part_is_the_text_itself() -> None:
    text = "Hello {world} €5 [ok]"
    assert split_parts(text) == [text]


def test_extension_char_at_part_boundary_moves_to_next_part() -> None:
    text = "a" * 152 + "€" + "b" * 10
    seg = segment(text)
    assert seg.encoding == "GSM-7"
    assert seg.units == 152 + 2 + 10
    assert seg.parts == 2
    parts = split_parts(text)
    assert parts == ["a" * 152, "€" + "b" * 10]


def test_extension_char_fitting_exactly_at_end_of_part_stays() -> None:
    text = "a" * 151 + "€" + "b" * 10
    parts = split_parts(text)
    assert parts == ["a" * 151 + "€", "b" * 10]
    assert units_gsm7(parts[0]) == 153


def test_extension_padding_can_add_a_part() -> None:
    # 152 + 2 + 152 = 306 septets, which would fit 2 full parts by raw count, but the € cannot
    # be split, so part 1 holds 152 septets and the remaining 154 septets need two more parts.
    text = "a" * 152 + "€" + "b" * 152
    assert units_gsm7(text) == 306
    seg = segment(text)
    assert seg.units == 306
    assert seg.parts == 3
    parts = split_parts(text)
    assert parts == ["a" * 152, "€" + "b" * 151, "b"]


def test_extension_char_only_counts_in_single_part_threshold() -> None:
    # 158 plain + € = 160 septets: still a single SMS.
    assert segment("a" * 158 + "€").parts == 1
    # 159 plain + € = 161 septets: two parts.
    seg = segment("a" * 159 + "€")
    assert (seg.units, seg.parts, seg.per_part) == (161, 2, 153)


def test_only_extension_chars() -> None:
    assert segment("{" * 80) == Segmentation("GSM-7", 80, 160, 1, 160)
    assert split_parts("{" * 80) == ["{" * 80]
    seg = segment("{" * 81)
    assert seg == Segmentation("GSM-7", 81, 162, 2, 153)
    # 153 is odd: each part takes 76 extension chars (152 septets), never a half.
    assert split_parts("{" * 81) == ["{" * 76, "{" * 5]


def test_only_extension_chars_many_parts() -> None:
    text = "€" * 200
    parts = split_parts(text)
    assert [len(p) for p in parts] == [76, 76, 48]
    assert segment(text).parts == 3
    assert all(units_gsm7(p) <= 153 for p in parts)


def test_form_feed_is_extension() -> None:
    seg = segment("\f")
    assert seg == Segmentation("GSM-7", 1, 2, 1, 160)


# --- UCS-2 boundaries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "parts", "per_part"),
    [
        (1, 1, 70),
        (69, 1, 70),
        (70, 1, 70),
        (71, 2, 67),
        (134, 2, 67),
        (135, 3, 67),
        (201, 3, 67),
        (202, 4, 67),
        (268, 4, 67),
        (269, 5, 67),
    ],
)
def test_ucs2_bmp_boundaries(length: int, parts: int, per_part: int) -> None:
    text = ZHE * length
    seg = segment(text)
    assert seg == Segmentation("UCS-2", length, length, parts, per_part)
    assert len(split_parts(text)) == parts


def test_ucs2_parts_hold_67_units() -> None:
    text = ZHE * 150
    parts = split_parts(text)
    assert [len(p) for p in parts] == [67, 67, 16]
    assert "".join(parts) == text


def test_ucs2_with_mostly_gsm_text() -> None:
    text = "a" * 70 + "ç"
    seg = segment(text)
    assert seg == Segmentation("UCS-2", 71, 71, 2, 67)
    assert split_parts(text) == ["a" * 67, "aaaç"]


def test_emoji_counts_two_units() -> None:
    seg = segment(EMOJI)
    assert seg == Segmentation("UCS-2", 1, 2, 1, 70)
    assert segment(EMOJI * 35) == Segmentation("UCS-2", 35, 70, 1, 70)
    assert segment(EMOJI * 36) == Segmentation("UCS-2", 36, 72, 2, 67)


def test_emoji_with_69_units_crosses_single_limit() -> None:
    assert segment(ZHE * 68 + EMOJI).parts == 1  # 70 units
    seg = segment(ZHE * 69 + EMOJI)  # 71 units
    assert (seg.units, seg.parts) == (71, 2)


def test_emoji_at_part_boundary_moves_to_next_part() -> None:
    text = ZHE * 66 + EMOJI + ZHE * 10
    seg = segment(text)
    assert seg.units == 66 + 2 + 10
    assert seg.parts == 2
    parts = split_parts(text)
    assert parts == [ZHE * 66, EMOJI + ZHE * 10]
    assert units_ucs2(parts[0]) == 66


def test_emoji_fitting_exactly_at_end_of_part_stays() -> None:
    text = ZHE * 65 + EMOJI + ZHE * 10
    parts = split_parts(text)
    assert parts == [ZHE * 65 + EMOJI, ZHE * 10]
    assert units_ucs2(parts[0]) == 67


def test_only_emoji_never_split() -> None:
    text = EMOJI * 100
    parts = split_parts(text)
    # 67 is odd: each part holds 33 emoji (66 units).
    assert [len(p) for p in parts] == [33, 33, 33, 1]
    assert segment(text).parts == 4
    assert segment(text).units == 200


def test_emoji_padding_can_add_a_part() -> None:
    text = ZHE * 66 + EMOJI + ZHE * 66  # 134 units = 2 * 67 by raw count
    assert units_ucs2(text) == 134
    assert segment(text).parts == 3
    assert split_parts(text) == [ZHE * 66, EMOJI + ZHE * 65, ZHE]


def test_characters_counts_code_points_not_units() -> None:
    seg = segment("hi " + EMOJI)
    assert seg.characters == 4
    assert seg.units == 5


# --- max_characters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "max_parts", "expected"),
    [
        ("GSM-7", 1, 160),
        ("GSM-7", 2, 306),
        ("GSM-7", 3, 459),
        ("GSM-7", 4, 612),
        ("GSM-7", 10, 1530),
        ("UCS-2", 1, 70),
        ("UCS-2", 2, 134),
        ("UCS-2", 3, 201),
        ("UCS-2", 4, 268),
        ("UCS-2", 10, 670),
    ],
)
def test_max_characters(encoding: Encoding, max_parts: int, expected: int) -> None:
    assert max_characters(encoding, max_parts) == expected


@pytest.mark.parametrize("max_parts", [1, 2, 3, 4, 7])
def test_max_characters_is_tight_for_plain_text(max_parts: int) -> None:
    n = max_characters("GSM-7", max_parts)
    assert segment("a" * n).parts == max_parts
    assert segment("a" * (n + 1)).parts == max_parts + 1
    m = max_characters("UCS-2", max_parts)
    assert segment(ZHE * m).parts == max_parts
    assert segment(ZHE * (m + 1)).parts == max_parts + 1


@pytest.mark.parametrize("max_parts", [0, -1])
def test_max_characters_rejects_non_positive_parts(max_parts: int) -> None:
    with pytest.raises(ValueError):
        max_characters("GSM-7", max_parts)


def test_max_characters_rejects_unknown_encoding() -> None:
    with pytest.raises(ValueError):
        max_characters("UTF-8", 1)  # type: ignore[arg-type]


# --- properties over generated strings ----------------------------------------------------

_PLAIN = "abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,!?\n@£$éèÇÄÖÑÜ"
_EXTENSION = GSM7_EXTENSION_CHARS
_ACCENTED_NON_GSM = "çáíóúâêîôûãõñ\u0436\u03b1\u2019\u2026"
_EMOJI = "\U0001f600\U0001f44d\U0001f389\U0001f680\u2764"


def _random_text(rng: random.Random) -> str:
    length = rng.choice([rng.randint(0, 10), rng.randint(60, 175), rng.randint(0, 700)])
    weights = rng.choice([(1, 0, 0, 0), (8, 2, 0, 0), (8, 2, 1, 0), (8, 1, 1, 2), (0, 1, 0, 0)])
    pools = [_PLAIN, _EXTENSION, _ACCENTED_NON_GSM, _EMOJI]
    chars = []
    for _ in range(length):
        pool = rng.choices(pools, weights=weights)[0]
        chars.append(rng.choice(pool))
    return "".join(chars)


@functools.cache
def _generated_texts(count: int = 3000) -> tuple[str, ...]:
    rng = random.Random(20240611)
    return tuple(_random_text(rng) for _ in range(count))


def test_property_parts_match_split_parts() -> None:
    for text in _generated_texts():
        seg = segment(text)
        parts = split_parts(text)
        if text:
            assert seg.parts == len(parts), repr(text)
        else:
            assert seg.parts == 0
            assert parts == []


def test_property_parts_reassemble_and_respect_capacity() -> None:
    for text in _generated_texts():
        seg = segment(text)
        parts = split_parts(text)
        assert "".join(parts) == text
        assert all(parts), repr(text)
        units = units_gsm7 if seg.encoding == "GSM-7" else units_ucs2
        assert seg.units == units(text)
        if seg.parts == 1:
            assert seg.per_part == (160 if seg.encoding == "GSM-7" else 70)
            assert seg.units <= seg.per_part
        elif seg.parts > 1:
            assert seg.per_part == (153 if seg.encoding == "GSM-7" else 67)
            assert seg.units > (160 if seg.encoding == "GSM-7" else 70)
            for part in parts:
                assert units(part) <= seg.per_part
            # Greedy: each non-final part could not take the next part's first character.
            for part, nxt in itertools.pairwise(parts):
                assert units(part) + units(nxt[0]) > seg.per_part


def test_property_encoding_and_characters() -> None:
    for text in _generated_texts():
        seg = segment(text)
        assert seg.characters == len(text)
        expected_gsm = all(ch in GSM7_BASIC_CHARS or ch in GSM7_EXTENSION_CHARS for ch in text)
        assert is_gsm7(text) is expected_gsm
        assert seg.encoding == ("GSM-7" if expected_gsm else "UCS-2")


def test_property_parts_never_exceed_lower_bound_by_much() -> None:
    for text in _generated_texts():
        seg = segment(text)
        if seg.parts > 1:
            lower = -(-seg.units // seg.per_part)
            assert lower <= seg.parts
            # Each part wastes at most one unit to padding.
            assert seg.parts <= -(-seg.units // (seg.per_part - 1))


def test_property_generator_covers_all_kinds() -> None:
    segs = [segment(t) for t in _generated_texts()]
    assert any(s.encoding == "GSM-7" and s.parts > 2 for s in segs)
    assert any(s.encoding == "UCS-2" and s.parts > 2 for s in segs)
    assert any(s.encoding == "GSM-7" and s.units > s.characters for s in segs)
    assert any(s.encoding == "UCS-2" and s.units > s.characters for s in segs)
    assert any(s.parts == 1 for s in segs)
