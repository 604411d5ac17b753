"""aiohttp application: BulkSMS EAPI and JSON endpoints plus the /_sandbox control API."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

from aiohttp import hdrs, web

from sandbox.config import ConfigError
from sandbox.protocol import (
    decode_text,
    eapi_submission,
    json_submission,
    parse_form,
    query_bytes,
)
from sandbox.state import Outcome, State

STATE_KEY = web.AppKey("sandbox_state", State)
# send_batch allows 30,000 rows, far above aiohttp's default 1 MiB body limit.
MAX_BODY_BYTES = 64 * 1024 * 1024

# How the JSON API reports EAPI-style failures.
_JSON_STATUS = {22: 500, 23: 401, 24: 400, 25: 403, 26: 503, 27: 403, 28: 503, 40: 429}


def create_app(state: State | None = None) -> web.Application:
    """Return the sandbox gateway application, using `state` or a fresh State."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = state if state is not None else State()
    app.router.add_route("*", "/eapi/submission/send_sms/2/2.0", _send_sms)
    app.router.add_route("*", "/eapi/submission/send_batch/1/1.0", _send_batch)
    app.router.add_route("*", "/eapi/user/get_credits/1/1.1", _get_credits)
    app.router.add_post("/v1/messages", _json_messages)
    app.router.add_get("/_sandbox/health", _health)
    app.router.add_get("/_sandbox/messages", _list_messages)
    app.router.add_delete("/_sandbox/messages", _clear_messages)
    app.router.add_get("/_sandbox/config", _get_config)
    app.router.add_put("/_sandbox/config", _put_config)
    app.router.add_patch("/_sandbox/config", _put_config)
    app.router.add_post("/_sandbox/reset", _reset)
    app.router.add_get("/_sandbox/stats", _stats)
    return app


async def _eapi_params(request: web.Request) -> dict[str, str]:
    if request.method not in (hdrs.METH_GET, hdrs.METH_POST):
        raise web.HTTPMethodNotAllowed(request.method, [hdrs.METH_GET, hdrs.METH_POST])
    params = parse_form(query_bytes(request.rel_url.raw_query_string))
    if request.method == hdrs.METH_POST and request.can_read_body:
        params.update(parse_form(await request.read(), request.charset))
    return params


async def _answer_eapi(outcome: Outcome) -> web.Response:
    if outcome.delay_s > 0:
        await asyncio.sleep(outcome.delay_s)
    return web.Response(text=outcome.eapi_body(), status=outcome.http_status)


async def _send_sms(request: web.Request) -> web.Response:
    sub = eapi_submission(await _eapi_params(request), "send_sms")
    return await _answer_eapi(request.app[STATE_KEY].submit(sub))


async def _send_batch(request: web.Request) -> web.Response:
    sub = eapi_submission(await _eapi_params(request), "send_batch")
    return await _answer_eapi(request.app[STATE_KEY].submit(sub))


async def _get_credits(request: web.Request) -> web.Response:
    params = await _eapi_params(request)
    state = request.app[STATE_KEY]
    if state.config.latency_ms > 0:
        await asyncio.sleep(state.config.latency_ms / 1000.0)
    if not state.check_credentials(params.get("username"), params.get("password")):
        who = params.get("username", "")
        return web.Response(text=f"23|invalid credentials (username was: {who})|")
    return web.Response(text=f"0|{state.config.credits:.2f}")


def _basic_auth(request: web.Request) -> tuple[str | None, str | None]:
    # Parsed by hand: aiohttp.BasicAuth is deprecated for removal in aiohttp 4.
    scheme, _, encoded = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:
        return None, None
    username, sep, password = decode_text(raw).partition(":")
    return (username, password) if sep else (None, None)


async def _json_messages(request: web.Request) -> web.Response:
    username, password = _basic_auth(request)
    sub = json_submission(await request.read(), username, password)
    outcome = request.app[STATE_KEY].submit(sub)
    if outcome.delay_s > 0:
        await asyncio.sleep(outcome.delay_s)
    if outcome.http_status != 200:
        return web.Response(text=outcome.eapi_body(), status=outcome.http_status)
    if outcome.code != 0:
        status = _JSON_STATUS.get(outcome.code, 400)
        problem = {
            "type": "https://developer.bulksms.com/json/v1/errors",
            "title": outcome.description,
            "status": status,
            "detail": f"{outcome.code}|{outcome.description}",
        }
        headers = {"WWW-Authenticate": 'Basic realm="sandbox"'} if status == 401 else None
        return web.json_response(problem, status=status, headers=headers)
    body = [
        {
            "id": str(m.seq),
            "type": "SENT",
            "to": m.msisdn,
            "body": m.message,
            "submission": {"id": str(m.batch_id)},
            "status": {"id": "ACCEPTED.null", "type": "ACCEPTED", "subtype": None},
        }
        for m in outcome.messages
    ]
    return web.json_response(body, status=201)


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _non_negative_int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name, "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise ValueError(f"{name} must be a non-negative integer")
    return int(raw)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _list_messages(request: web.Request) -> web.Response:
    try:
        offset = _non_negative_int(request, "offset") or 0
        limit = _non_negative_int(request, "limit")
    except ValueError as exc:
        return _bad_request(str(exc))
    messages = request.app[STATE_KEY].messages
    msisdn = request.query.get("msisdn")
    if msisdn:
        messages = [m for m in messages if m.msisdn == msisdn]
    end = None if limit is None else offset + limit
    items = [m.to_json() for m in messages[offset:end]]
    return web.json_response({"items": items, "total": len(messages)})


async def _clear_messages(request: web.Request) -> web.Response:
    return web.json_response({"deleted": request.app[STATE_KEY].clear()})


async def _get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].config.to_json())


async def _put_config(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        patch: Any = json.loads(await request.text())
        state.update_config(patch)
    except ConfigError as exc:
        return _bad_request(str(exc))
    except ValueError:
        return _bad_request("body is not valid JSON")
    return web.json_response(state.config.to_json())


async def _reset(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.reset()
    return web.json_response(state.config.to_json())


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].stats())
