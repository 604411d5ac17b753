"""SMS length accounting: GSM 03.38 alphabet detection and concatenation segmentation.

Pure logic, no I/O. A message is encoded as GSM-7 when every character belongs to the GSM 03.38
default alphabet or its extension table; otherwise the whole message is encoded as UCS-2.

* GSM-7: basic characters cost 1 septet, extension characters (``^ { } \\ [ ] ~ | €`` and form
  feed) cost 2 septets (escape + character). A single SMS holds 160 septets; each part of a
  concatenated message holds 153. An extension character is never split across two parts.
* UCS-2: every character costs 1 UTF-16 code unit, except characters outside the BMP (most emoji)
  which cost 2 (a surrogate pair). A single SMS holds 70 units; each concatenated part holds 67.
  A surrogate pair is never split across two parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_SINGLE = 160
GSM7_MULTI = 153
UCS2_SINGLE = 70
UCS2_MULTI = 67

# GSM 03.38 basic table in code order 0x00..0x7F. Position 0x1B is the escape to the extension
# table and is not a user character, so it is left out. Greek capitals are written as escapes so
# they cannot be confused with look-alike Latin letters.
_GSM7_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e"  # Δ_ΦΓΛΩΠΨΣΘΞ
    "ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION_TABLE = "\f^{}\\[]~|€"

GSM7_BASIC: frozenset[str] = frozenset(_GSM7_BASIC_TABLE)
GSM7_EXTENSION: frozenset[str] = frozenset(_GSM7_EXTENSION_TABLE)

_CAPACITY: dict[str, tuple[int, int]] = {
    "GSM-7": (GSM7_SINGLE, GSM7_MULTI),
    "UCS-2": (UCS2_SINGLE, UCS2_MULTI),
}


@dataclass(frozen=True, slots=True)
class Segmentation:
    """How a text is encoded and split into SMS parts.

    ``units`` is septets for GSM-7 and UTF-16 code units for UCS-2. ``per_part`` is the capacity
    of one part in units: 160/70 when the text fits a single SMS (or is empty), else 153/67.
    """

    encoding: Encoding
    characters: int
    units: int
    parts: int
    per_part: int


def is_gsm7(text: str) -> bool:
    """Return True if every character of ``text`` is in the GSM 03.38 basic or extension table.

    The empty string is GSM-7.
    """
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _encoding(text: str) -> Encoding:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def _cost(ch: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def _split(text: str, encoding: Encoding) -> tuple[int, list[str]]:
    """Return (total units, part texts) for ``text`` in ``encoding``."""
    single, multi = _CAPACITY[encoding]
    costs = [_cost(ch, encoding) for ch in text]
    total = sum(costs)
    if not text:
        return 0, []
    if total <= single:
        return total, [text]
    parts: list[str] = []
    start = 0
    used = 0
    for i, cost in enumerate(costs):
        if used + cost > multi:
            parts.append(text[start:i])
            start = i
            used = 0
        used += cost
    parts.append(text[start:])
    return total, parts


def segment(text: str) -> Segmentation:
    """Work out the encoding, length and number of SMS parts needed for ``text``.

    An empty text is GSM-7 with 0 characters, 0 units and 0 parts (``per_part`` is then the
    single-SMS capacity, 160); callers are expected to refuse empty messages. Part counting
    respects the never-split rules, so ``parts == len(split_parts(text))`` always holds.
    """
    encoding = _encoding(text)
    total, parts = _split(text, encoding)
    single, multi = _CAPACITY[encoding]
    return Segmentation(
        encoding=encoding,
        characters=len(text),
        units=total,
        parts=len(parts),
        per_part=multi if len(parts) > 1 else single,
    )


def parts_over(text: str, max_parts: int) -> int | None:
    """The SMS parts ``text`` needs when that is more than ``max_parts``, else None."""
    parts = segment(text).parts
    return parts if parts > max_parts else None


def split_parts(text: str) -> list[str]:
    """Split ``text`` into the texts of its SMS parts (an empty list for an empty text).

    Parts are filled greedily; an extension character (GSM-7) or a surrogate pair (UCS-2) that
    would not fit in the remainder of a part starts the next part instead. Joining the parts gives
    back ``text``.
    """
    return _split(text, _encoding(text))[1]


def max_characters(encoding: Encoding, max_parts: int) -> int:
    """Return the maximum message length in units that fits in ``max_parts`` SMS parts.

    That is the number of basic characters for GSM-7 (extension characters count 2) or of BMP
    characters for UCS-2 (non-BMP characters count 2). It is exact for text without 2-unit
    characters; with them it is an upper bound, since a 2-unit character that would straddle a
    part boundary moves to the next part and leaves one unit unused. For example
    ``("GSM-7", 1) -> 160``, ``("GSM-7", 4) -> 612``, ``("UCS-2", 1) -> 70`` and
    ``("UCS-2", 4) -> 268``.

    Raises ValueError if ``max_parts`` is less than 1 or ``encoding`` is unknown.
    """
    if encoding not in _CAPACITY:
        raise ValueError(f"unknown encoding: {encoding!r}")
    if max_parts < 1:
        raise ValueError(f"max_parts must be at least 1, got {max_parts}")
    single, multi = _CAPACITY[encoding]
    return single if max_parts == 1 else multi * max_parts
