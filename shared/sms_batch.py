"""BulkSMS EAPI batch submissions: many SMS, each with its own text, in one request.

Pure logic, no I/O. ``send_batch`` takes the same form parameters as ``send_sms`` except
``msisdn`` and ``message``, which become the rows of ``batch_data`` (CSV ``msisdn,message``);
the answer is one ``code|description|batch_id`` for the whole submission
(``../shared/docs/domain.md`` §3).

The batch's ``stop_dup_id`` is the smallest message id in it. Only first attempts are
batched, so a message is in at most one batch and no two batches share that id; a message
retried on its own later is sent with its own id, so the smallest one is still recognised by
the gateway if the batch did go through.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from urllib.parse import quote_plus

from shared.sms_request import FORM_CONTENT_TYPE, KNOWN_PLACEHOLDER, HttpRequest

SEND_SMS_PATH = "/submission/send_sms/2/2.0"
SEND_BATCH_PATH = "/submission/send_batch/1/1.0"
# The provider's limit per submission.
MAX_ROWS = 30_000
# Placeholders that only make sense for one message: their parameters become batch_data.
_PER_MESSAGE = ("%TO%", "%TO_DIGITS%", "%MESSAGE%")


def batch_url(url: str) -> str | None:
    """The ``send_batch`` address next to a BulkSMS EAPI ``send_sms`` one, else None."""
    base, sep, query = url.partition("?")
    if not base.endswith(SEND_SMS_PATH):
        return None
    return base[: -len(SEND_SMS_PATH)] + SEND_BATCH_PATH + sep + query


def batch_problem(
    *, url: str, method: str, content_type: str, payload: str, headers: Mapping[str, str]
) -> str | None:
    """Why these gateway settings cannot send batches, or None when they can."""
    if batch_url(url) is None:
        return f"batches need a BulkSMS EAPI address ending in {SEND_SMS_PATH}"
    if method != "POST" or content_type != "form":
        return "batches need method POST and content_type form"
    if KNOWN_PLACEHOLDER.search(url):
        return "batches cannot use placeholders in the address"
    if any(p in value for value in headers.values() for p in _PER_MESSAGE):
        return "batches cannot put %TO%, %TO_DIGITS% or %MESSAGE% in headers"
    pairs = [pair for pair in payload.split("&") if not any(p in pair for p in _PER_MESSAGE)]
    if "batch_data" in {pair.partition("=")[0] for pair in pairs}:
        return "the payload must not set batch_data itself"
    # The batch is resent after an unknown outcome: only the gateway's guard makes that safe.
    if not any("%ID%" in pair for pair in pairs):
        return "batches need the duplicate guard in the payload (stop_dup_id=%ID%)"
    return None


def build_batch_request(
    *,
    url: str,
    payload: str,
    headers: Mapping[str, str],
    rows: Sequence[tuple[str, str]],
    dup_id: int,
) -> HttpRequest:
    """The ``send_batch`` request for ``rows`` of (number, text), with ``dup_id`` as
    ``stop_dup_id`` wherever the payload says ``%ID%``."""
    target = batch_url(url)
    if target is None or not rows or len(rows) > MAX_ROWS:
        raise ValueError("not a BulkSMS EAPI address, or no rows, or too many rows")
    values = {"ID": str(dup_id), "PARTNER": ""}
    kept = [
        KNOWN_PLACEHOLDER.sub(lambda m: quote_plus(values.get(m[1], "")), pair)
        for pair in payload.split("&")
        if pair and not any(p in pair for p in _PER_MESSAGE)
    ]
    kept.append("batch_data=" + quote_plus(batch_data(rows)))
    sent_headers = {"Content-Type": FORM_CONTENT_TYPE}
    for name, value in headers.items():
        if name.lower() == "content-type":
            sent_headers.pop("Content-Type")
        sent_headers[name] = KNOWN_PLACEHOLDER.sub(lambda m: values.get(m[1], ""), value)
    return HttpRequest("POST", target, sent_headers, "&".join(kept).encode())


def batch_data(rows: Sequence[tuple[str, str]]) -> str:
    """CSV with a ``msisdn,message`` header; numbers as digits only."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("msisdn", "message"))
    writer.writerows(("".join(c for c in to if c.isdigit()), text) for to, text in rows)
    return out.getvalue()
