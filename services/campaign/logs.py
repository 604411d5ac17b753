"""Message log endpoints: ``/logs/sms`` (one row per SMS), with filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from services.campaign import access
from services.campaign.http.params import FROM, ID, PAGE, TO, enum
from services.campaign.http.routes import Param, Route, tagged
from services.campaign.http.rules import ADMIN, VIEWER, Rule, Scope
from services.campaign.problems import Problem, field_error
from services.campaign.web import json_response, page, path_id, pool_of, query_int

STATUSES = ("new", "sending", "sent", "error", "expired", "cancelled", "skipped")
LOG_COLUMNS = (
    "id, recipient, type, status, added_at, sent_at, customer_id, recipient_kind,"
    " campaign_id, error, attempts, delivery_status, delivered_at"
)


def when(request: web.Request, name: str) -> datetime | None:
    """An ISO 8601 date-time query parameter (with a zone), or None."""
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise field_error(name, "must be an ISO 8601 date or date-time") from None
    if value.tzinfo is None:
        raise field_error(name, "must carry a time zone (e.g. 2026-11-25T00:00:00Z)")
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        raise field_error(name, "out of range") from None
    if not 1970 <= in_utc.year <= 9000:
        raise field_error(name, "must be between the years 1970 and 9000")
    return value


def _conditions(request: web.Request, channel: str) -> tuple[str, list[Any]]:
    conditions, args = ["channel = $1"], [channel]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        conditions.append(sql.format(f"${len(args)}"))

    if (since := when(request, "from")) is not None:
        add("added_at >= {}", since)
    if (until := when(request, "to")) is not None:
        add("added_at < {}", until)
    if kind := request.query.get("type"):
        if kind not in ("message", "test"):
            raise field_error("type", "must be one of: message, test")
        add("type = {}", kind)
    if status := request.query.get("status"):
        if status not in STATUSES:
            raise field_error("status", f"must be one of: {', '.join(STATUSES)}")
        add("status = {}", status)
    for name in ("customer_id", "campaign_id"):
        if request.query.get(name):
            add(f"{name} = {{}}", query_int(request, name, 0, 1, 2**63 - 1))
    if (partner := access.partner_of(request)) is not None:
        # The message's campaign, or for test sends its person, belongs to the partner.
        add(
            "coalesce((SELECT c.partner_id FROM campaigns c WHERE c.id = messages.campaign_id),"
            " (SELECT p.partner_id FROM people p WHERE p.kind = messages.recipient_kind"
            " AND p.id = messages.customer_id)) = {}",
            partner,
        )
    return " AND ".join(conditions), args


def _channel(request: web.Request) -> str:
    return "email" if request.path.rstrip("/").split("/logs/")[1].startswith("email") else "sms"


async def list_log(request: web.Request) -> web.Response:
    """``GET /logs/sms`` and ``GET /logs/email``: one row per message, newest first."""
    limit, offset = page(request)
    where, args = _conditions(request, _channel(request))
    pool = pool_of(request)
    rows = await pool.fetch(
        f"SELECT {LOG_COLUMNS} FROM messages WHERE {where}"
        f" ORDER BY added_at DESC, id DESC LIMIT {limit} OFFSET {offset}",
        *args,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM messages WHERE {where}", *args)
    return json_response({"items": [dict(r.items()) for r in rows], "total": total})


async def get_log(request: web.Request) -> web.Response:
    """``GET /logs/sms/{id}`` (and email): the row, its text, attempts and the answer."""
    channel = _channel(request)
    message_id = path_id(request, "id", f"{channel} message")
    row = await pool_of(request).fetchrow(
        f"SELECT {LOG_COLUMNS}, subject, text, gateway_request, gateway_answer, batch_id,"
        " expires_at, attachments, documents FROM messages WHERE channel = $1 AND id = $2",
        channel,
        message_id,
    )
    if row is None:
        raise Problem(404, f"no {channel} message with id {message_id}")
    return json_response(dict(row.items()))


async def list_dead_letters(request: web.Request) -> web.Response:
    """``GET /dead-letters``: messages no service could process, with the reason; newest first."""
    limit, offset = page(request)
    pool = pool_of(request)
    rows = await pool.fetch(
        "SELECT id, source, reason, encode(body, 'escape') AS body, headers, received_at"
        f" FROM dead_letters ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
    )
    total = await pool.fetchval("SELECT count(*) FROM dead_letters")
    return json_response({"items": [dict(r.items()) for r in rows], "total": total})


LOG_FILTERS = (
    FROM,
    TO,
    Param("type", enum(("message", "test"))),
    Param("status", enum(STATUSES)),
    Param("customer_id", ID),
    Param("campaign_id", ID),
)
_LISTED = Rule(VIEWER, Scope.HANDLER)

ROUTES = tagged(
    "logs",
    Route("GET", "/logs/sms", list_log, _LISTED, "SMS log, newest first", "SmsLogList",
          params=(*PAGE, *LOG_FILTERS)),
    Route("GET", "/logs/sms/{id}", get_log, Rule(VIEWER, Scope.PATH, "sms"),
          "One SMS: text, attempts, gateway answer", "SmsLogDetail"),
    Route("GET", "/logs/email", list_log, _LISTED, "Email log, newest first", "SmsLogList",
          params=(*PAGE, *LOG_FILTERS)),
    Route("GET", "/logs/email/{id}", get_log, Rule(VIEWER, Scope.PATH, "email"),
          "One email: subject, body, files, SMTP answer", "SmsLogDetail"),
    Route("GET", "/dead-letters", list_dead_letters, Rule(ADMIN, Scope.GLOBAL),
          "Messages no service could process, with why", "DeadLetterList", params=PAGE),
)  # fmt: skip
