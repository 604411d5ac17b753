"""Small helpers every handler module uses: typed app state, JSON answers, paging."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from aio_pika.abc import AbstractExchange, AbstractRobustConnection
from aiohttp import web
from pydantic import AnyUrl, BaseModel

from services.campaign.http.problems import Problem, field_error
from shared import render_pool
from shared.db import Pool
from shared.settings import Settings

MAX_PAGE = 1000
# Deeper pages cost the database a scan of every row skipped: ten requests at offset 10**9
# would hold the pool. Past this, narrow the filters (a 422 naming offset).
MAX_OFFSET = 100_000


@dataclass
class State:
    """What the handlers share: settings, the database pool, the broker."""

    settings: Settings
    pool: Pool
    amqp: AbstractRobustConnection
    exchange: AbstractExchange
    outbox_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    renderer: render_pool.RenderPool = field(default_factory=render_pool.shared)


STATE = web.AppKey("state", State)
RENDERING = web.RequestKey("rendering", render_pool.Session)


def state_of(request: web.Request) -> State:
    """The application's shared state."""
    return request.app[STATE]


def pool_of(request: web.Request) -> Pool:
    """The database pool."""
    return request.app[STATE].pool


def renderer_of(request: web.Request) -> render_pool.Session:
    """Template work for this request: one time budget for all of it."""
    if RENDERING not in request:
        request[RENDERING] = request.app[STATE].renderer.session()
    return request[RENDERING]


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, AnyUrl):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    """JSON text of API values (datetimes as ISO 8601)."""
    return json.dumps(value, default=_default, ensure_ascii=False)


def json_response(answer: BaseModel | dict[str, Any], status: int = 200) -> web.Response:
    """A JSON answer: an answer model (or a plain document, the OpenAPI one)."""
    value = answer.model_dump() if isinstance(answer, BaseModel) else answer
    return web.Response(
        status=status, text=dumps(value), content_type="application/json", charset="utf-8"
    )


def web_id(raw: str) -> int | None:
    """A positive bigint written in ASCII digits, or None ("²".isdigit() is true too)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 0 < int(raw) < 2**63:
        return None
    return int(raw)


def path_id(request: web.Request, name: str = "id", what: str = "resource") -> int:
    """A positive bigint from the path, or a 404 naming what was not found."""
    raw = request.match_info[name]
    value = web_id(raw)
    if value is None:
        raise Problem(404, f"no {what} with id {raw}")
    return value


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high], or a 422 naming it."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise field_error(name, "must be an integer") from None
    if not low <= value <= high:
        raise field_error(name, f"must be between {low} and {high}")
    return value


def query_time(request: web.Request, name: str) -> datetime | None:
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


def page(request: web.Request) -> tuple[int, int]:
    """``limit`` (1..1000, default 50) and ``offset`` of a list request."""
    return (
        query_int(request, "limit", 50, 1, MAX_PAGE),
        query_int(request, "offset", 0, 0, MAX_OFFSET),
    )
