"""RFC 9457 problem details: every error the API returns, 401 and 403 included."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.campaign.http.answers import FieldError, ProblemDetails
from shared import db
from shared.render_pool import RenderBusy

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """An error answer; ``errors`` has one entry per bad field (``field``, ``message``)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] = (),
        kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.kind = kind or _TITLES.get(status, "error").lower().replace(" ", "-")
        self.headers = headers or {}

    def response(self) -> web.Response:
        body = ProblemDetails(
            type=f"https://herald.dev/problems/{self.kind}",
            title=_TITLES.get(self.status, "Error"),
            status=self.status,
            detail=self.detail,
            errors=[FieldError.model_validate(error) for error in self.errors],
        )
        return web.Response(
            status=self.status,
            body=json.dumps(body.model_dump()).encode(),
            content_type=CONTENT_TYPE,
            headers=self.headers,
        )


def field_error(field: str, message: str, status: int = 422) -> Problem:
    """A problem about one field."""
    return Problem(status, f"{field}: {message}", errors=[{"field": field, "message": message}])


def _location(loc: Sequence[int | str], prefix: str) -> str:
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "body"


def from_validation(exc: ValidationError, prefix: str = "") -> Problem:
    """A 422 naming every invalid field of a pydantic validation error."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        field = _location(loc, prefix)
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        errors.append({"field": field, "message": message})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return Problem(422, f"invalid request: {detail}", errors=errors, kind="validation-error")


def _nul_at(value: Any, path: str = "") -> str | None:
    """Where a NUL character hides in a JSON document (Postgres text cannot store one)."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            if found := _nul_at(item, where):
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if found := _nul_at(item, f"{path}[{index}]"):
                return found
    return None


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a 400/415/422 problem."""
    if request.content_type not in ("application/json", "application/problem+json", ""):
        raise Problem(415, f"expected application/json, got {request.content_type}")
    raw = await request.read()
    try:
        data = json.loads(raw)
        nul = _nul_at(data)
    except RecursionError:
        # Thousands of nested arrays: more depth than any Herald body has, refused as such.
        raise Problem(
            400,
            "the JSON body is nested too deeply",
            errors=[{"field": "body", "message": "nested too deeply"}],
            kind="malformed-json",
        ) from None
    except UnicodeDecodeError:
        raise Problem(
            400, "the body is not UTF-8", errors=[{"field": "body", "message": "not UTF-8"}]
        ) from None
    except json.JSONDecodeError as exc:
        where = f" at line {exc.lineno} column {exc.colno}"
        raise Problem(
            400,
            f"malformed JSON body{where}",
            errors=[{"field": "body", "message": "not valid JSON"}],
            kind="malformed-json",
        ) from None
    if nul is not None:
        raise field_error(nul, "contains a NUL character")
    return data


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The request body validated as ``model``."""
    data = await read_json(request)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc) from None


async def parse_array(request: web.Request, model: type[M], max_items: int) -> list[M]:
    """The request body as a JSON array of ``model`` records, at most ``max_items``, with
    distinct ``id`` values when the model has one."""
    data = await read_json(request)
    if not isinstance(data, list):
        raise field_error("body", "expected a JSON array of records")
    if len(data) > max_items:
        raise field_error("body", f"at most {max_items} records per call, got {len(data)}")
    try:
        records = TypeAdapter(list[model]).validate_python(data)  # type: ignore[valid-type]
    except ValidationError as exc:
        raise from_validation(exc) from None
    ids = [getattr(r, "id", None) for r in records]
    if None not in ids and len(set(ids)) != len(ids):
        raise field_error("body", "the same id appears twice in one call")
    return records


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn Problems, aiohttp's HTTP errors and crashes into problem+json answers."""
    try:
        return await handler(request)
    except Problem as problem:
        return problem.response()
    except web.HTTPRequestEntityTooLarge as exc:
        return Problem(413, exc.text or "request body too large").response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return Problem(exc.status, exc.reason).response()
    except asyncpg.QueryCanceledError:
        # A list past its statement_timeout (shared/db.bounded): the connection is free again.
        return Problem(
            503,
            f"the query took longer than {db.LIST_TIMEOUT}; narrow the filters and retry",
            headers={"Retry-After": "10"},
        ).response()
    except RenderBusy as exc:  # every template worker busy: nothing wrong with the request
        return Problem(503, str(exc), headers={"Retry-After": "1"}).response()
    except HttpProcessingError as exc:
        # A body aiohttp cannot parse (e.g. a multipart part with a malformed header).
        return Problem(400, f"malformed request body: {exc.message}"[:300]).response()
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return Problem(500, "internal error; the server log has the details").response()
