"""Message log endpoints: ``/logs/sms`` (one row per SMS), with filters."""

from __future__ import annotations

from aiohttp import web

from services.campaign.http import access
from services.campaign.http.params import FROM, ID, PAGE, TO, enum
from services.campaign.http.problems import Problem, field_error
from services.campaign.http.routes import Param, Route, tagged
from services.campaign.http.rules import ADMIN, VIEWER, Rule, Scope
from services.campaign.http.web import json_response, page, path_id, pool_of, query_int, query_time
from services.campaign.logs import repo
from services.campaign.logs.answers import DeadLetterList, SmsLogDetail, SmsLogList
from shared.vocabulary import (
    MESSAGE_STATUSES,
    MESSAGE_TYPES,
)


def _query(request: web.Request, channel: str) -> repo.LogQuery:
    kind = request.query.get("type") or None
    since, until = query_time(request, "from"), query_time(request, "to")
    if kind is not None and kind not in MESSAGE_TYPES:
        raise field_error("type", f"must be one of: {', '.join(MESSAGE_TYPES)}")
    status = request.query.get("status") or None
    if status is not None and status not in MESSAGE_STATUSES:
        raise field_error("status", f"must be one of: {', '.join(MESSAGE_STATUSES)}")
    ids = {
        name: query_int(request, name, 0, 1, 2**63 - 1) if request.query.get(name) else None
        for name in ("customer_id", "campaign_id")
    }
    return repo.LogQuery(
        channel,
        since,
        until,
        kind,
        status,
        ids["customer_id"],
        ids["campaign_id"],
        access.partner_of(request),
    )


def _channel(request: web.Request) -> str:
    return "email" if request.path.rstrip("/").split("/logs/")[1].startswith("email") else "sms"


async def list_log(request: web.Request) -> web.Response:
    """``GET /logs/sms`` and ``GET /logs/email``: one row per message, newest first."""
    limit, offset = page(request)
    query = _query(request, _channel(request))
    rows, total = await repo.list_messages(pool_of(request), query, limit, offset)
    return json_response(SmsLogList.model_validate({"items": rows, "total": total}))


async def get_log(request: web.Request) -> web.Response:
    """``GET /logs/sms/{id}`` (and email): the row, its text, attempts and the answer."""
    channel = _channel(request)
    message_id = path_id(request, "id", f"{channel} message")
    row = await repo.get_message(pool_of(request), channel, message_id)
    if row is None:
        raise Problem(404, f"no {channel} message with id {message_id}")
    return json_response(SmsLogDetail.model_validate(row))


async def list_dead_letters(request: web.Request) -> web.Response:
    """``GET /dead-letters``: messages no service could process, with the reason; newest first."""
    limit, offset = page(request)
    rows, total = await repo.dead_letters(pool_of(request), limit, offset)
    return json_response(DeadLetterList.model_validate({"items": rows, "total": total}))


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
