"""Message log endpoints: ``/logs/sms`` (one row per SMS), with filters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from services.campaign.http import access
from services.campaign.http.answers import Answer, NonNegative, Page
from services.campaign.http.params import FROM, ID, PAGE, TO, enum
from services.campaign.http.problems import Problem, field_error
from services.campaign.http.routes import Param, Route, tagged
from services.campaign.http.rules import ADMIN, VIEWER, Rule, Scope
from services.campaign.http.web import json_response, page, path_id, pool_of, query_int, query_time
from shared.models import Id
from shared.vocabulary import (
    MESSAGE_STATUSES,
    MESSAGE_TYPES,
    DeliveryStatus,
    MessageStatus,
    MessageType,
    RecipientType,
)


class SmsLogEntry(Answer):
    """One message of the SMS (or email) log."""

    id: Id
    recipient: Annotated[str, Field(description="the phone number (E.164)")]
    type: MessageType
    status: MessageStatus
    added_at: datetime
    sent_at: datetime | None
    customer_id: Id | None
    recipient_kind: RecipientType | None
    campaign_id: Id | None
    error: str | None
    attempts: NonNegative
    delivery_status: Annotated[
        DeliveryStatus | None,
        Field(description="from the gateway's delivery report, when one arrived"),
    ]
    delivered_at: datetime | None


class SmsLogDetail(SmsLogEntry):
    """One message with its text, attempts and the gateway's answer."""

    text: str
    gateway_request: Annotated[str | None, Field(description="credentials removed")]
    gateway_answer: Annotated[str | None, Field(description="credentials removed")]
    batch_id: str | None
    expires_at: datetime
    subject: str
    attachments: list[Id]
    documents: list[Id]


class SmsLogList(Page[SmsLogEntry]):
    pass


class DeadLetter(Answer):
    id: Id
    source: Annotated[str, Field(description="routing key it was sent with")]
    reason: str
    body: Annotated[str, Field(description="the message body (bytea escape)")]
    headers: dict[str, Any]
    received_at: datetime


class DeadLetterList(Page[DeadLetter]):
    pass


# The answer models name the columns: the SQL reads what the API shows.
LOG_COLUMNS = ", ".join(SmsLogEntry.model_fields)
DETAIL_COLUMNS = ", ".join(SmsLogDetail.model_fields)


def _conditions(request: web.Request, channel: str) -> tuple[str, list[Any]]:
    conditions, args = ["channel = $1"], [channel]

    def add(sql: str, value: Any) -> None:
        args.append(value)
        conditions.append(sql.format(f"${len(args)}"))

    if (since := query_time(request, "from")) is not None:
        add("added_at >= {}", since)
    if (until := query_time(request, "to")) is not None:
        add("added_at < {}", until)
    if kind := request.query.get("type"):
        if kind not in MESSAGE_TYPES:
            raise field_error("type", f"must be one of: {', '.join(MESSAGE_TYPES)}")
        add("type = {}", kind)
    if status := request.query.get("status"):
        if status not in MESSAGE_STATUSES:
            raise field_error("status", f"must be one of: {', '.join(MESSAGE_STATUSES)}")
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
    items = [SmsLogEntry.model_validate(dict(r.items())) for r in rows]
    return json_response(SmsLogList(items=items, total=total))


async def get_log(request: web.Request) -> web.Response:
    """``GET /logs/sms/{id}`` (and email): the row, its text, attempts and the answer."""
    channel = _channel(request)
    message_id = path_id(request, "id", f"{channel} message")
    row = await pool_of(request).fetchrow(
        f"SELECT {DETAIL_COLUMNS} FROM messages WHERE channel = $1 AND id = $2",
        channel,
        message_id,
    )
    if row is None:
        raise Problem(404, f"no {channel} message with id {message_id}")
    return json_response(SmsLogDetail.model_validate(dict(row.items())))


async def list_dead_letters(request: web.Request) -> web.Response:
    """``GET /dead-letters``: messages no service could process, with the reason; newest first."""
    limit, offset = page(request)
    pool = pool_of(request)
    rows = await pool.fetch(
        "SELECT id, source, reason, encode(body, 'escape') AS body, headers, received_at"
        f" FROM dead_letters ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
    )
    total = await pool.fetchval("SELECT count(*) FROM dead_letters")
    items = [DeadLetter.model_validate(dict(r.items())) for r in rows]
    return json_response(DeadLetterList(items=items, total=total))


LOG_FILTERS = (
    FROM,
    TO,
    Param("type", enum(MESSAGE_TYPES)),
    Param("status", enum(MESSAGE_STATUSES)),
    Param("customer_id", ID),
    Param("campaign_id", ID),
)
_LISTED = Rule(VIEWER, Scope.HANDLER)

ROUTES = tagged(
    "logs",
    Route("GET", "/logs/sms", list_log, _LISTED, "SMS log, newest first", SmsLogList,
          params=(*PAGE, *LOG_FILTERS)),
    Route("GET", "/logs/sms/{id}", get_log, Rule(VIEWER, Scope.PATH, "sms"),
          "One SMS: text, attempts, gateway answer", SmsLogDetail),
    Route("GET", "/logs/email", list_log, _LISTED, "Email log, newest first", SmsLogList,
          params=(*PAGE, *LOG_FILTERS)),
    Route("GET", "/logs/email/{id}", get_log, Rule(VIEWER, Scope.PATH, "email"),
          "One email: subject, body, files, SMTP answer", SmsLogDetail),
    Route("GET", "/dead-letters", list_dead_letters, Rule(ADMIN, Scope.GLOBAL),
          "Messages no service could process, with why", DeadLetterList, params=PAGE),
)  # fmt: skip
