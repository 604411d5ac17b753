"""API token routes: ``POST /tokens``, ``GET /tokens``, ``DELETE /tokens/{id}``."""

from __future__ import annotations

from aiohttp import web

from services.campaign.audit import handlers as audit
from services.campaign.http.params import PAGE
from services.campaign.http.problems import Problem, parse_body
from services.campaign.http.routes import Route, tagged
from services.campaign.http.rules import ADMIN, Rule, Scope
from services.campaign.http.web import json_response, page, path_id, pool_of
from services.campaign.tokens import repo
from services.campaign.tokens.models import TokenCreated, TokenList, TokenRequest
from services.campaign.tokens.store import (
    CACHE_SECONDS,
    PREFIX_SHOWN,
    STORE,
    new_token,
    token_hash,
)


async def create(request: web.Request) -> web.Response:
    """``POST /tokens``: a new token; its secret is in this answer and nowhere else, ever."""
    body = await parse_body(request, TokenRequest)
    token = new_token()
    async with audit.change(request, "token", "create") as change:
        row = await repo.insert(
            change.conn,
            body.name,
            body.role,
            body.partner_id,
            token_hash(token),
            token[:PREFIX_SHOWN],
        )
        change.object_id = str(row["id"])
    return json_response(TokenCreated.model_validate({**row, "token": token}), status=201)


async def list_tokens(request: web.Request) -> web.Response:
    """``GET /tokens``: every token, revoked ones included, without secrets."""
    limit, offset = page(request)
    rows, total = await repo.list_tokens(pool_of(request), limit, offset)
    return json_response(TokenList.model_validate({"items": rows, "total": total}))


async def revoke(request: web.Request) -> web.Response:
    """``DELETE /tokens/{id}``: the token stops working (in other API processes within
    ``CACHE_SECONDS``). Revoking a revoked token is fine."""
    token_id = path_id(request, "id", "token")
    async with audit.change(request, "token", "revoke", token_id) as change:
        if not await repo.revoke(change.conn, token_id):
            raise Problem(404, f"no token with id {token_id}")
    store = request.get(STORE)
    if store is not None:
        store.forget(token_id)
    return web.Response(status=204)


_ADMIN = Rule(ADMIN, Scope.GLOBAL)

ROUTES = tagged(
    "tokens",
    Route("POST", "/tokens", create, _ADMIN,
          "Create an API token (its secret is shown only here)", TokenCreated, 201,
          body=TokenRequest),
    Route("GET", "/tokens", list_tokens, _ADMIN, "List API tokens (no secrets)", TokenList,
          params=PAGE),
    Route("DELETE", "/tokens/{id}", revoke, _ADMIN, "Revoke a token", None, 204,
          description="Other API processes may accept it for up to"
          f" {CACHE_SECONDS:g} seconds more (token lookups are cached)."),
)  # fmt: skip
