"""API tokens: ``POST /tokens``, ``GET /tokens``, ``DELETE /tokens/{id}``, their SQL, and the
cached lookup the authentication middleware uses.

A token is ``hrd_`` and 32 random bytes (urlsafe base64), shown once when it is made. Only its
SHA-256 is stored: with 256 bits of entropy a token cannot be found from its hash, so a fast
unsalted hash is enough, and a slow password hash would only cost every request time. A token
is looked up by its hash (an index probe whose timing depends on the hash alone), then the
stored hash is compared with ``hmac.compare_digest``.

Lookups (found or not) are cached in the process for ``CACHE_SECONDS``, so most requests cost
no database round trip. Revoking drops the token from the cache of the process that handled the
``DELETE`` at once; any other API process honours a revoked token for at most ``CACHE_SECONDS``
more.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.campaign.http.access import Principal
from services.campaign.http.answers import Answer, Page
from services.campaign.http.params import PAGE
from services.campaign.http.problems import Problem, parse_body
from services.campaign.http.routes import Route, tagged
from services.campaign.http.rules import ADMIN, Role, Rule, Scope
from services.campaign.http.web import json_response, page, pool_of
from shared.db import Pool, record_to_dict
from shared.models import Id

TOKEN_PREFIX = "hrd_"
PREFIX_SHOWN = len(TOKEN_PREFIX) + 6
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 4096


class TokenView(Answer):
    """An API token, without its secret."""

    id: Id
    name: str
    role: Role
    partner_id: Annotated[
        Id | None, Field(description="set: the token sees only this partner's data")
    ]
    prefix: Annotated[str, Field(description="the token's first characters")]
    created_at: datetime
    last_used_at: Annotated[
        datetime | None, Field(description="approximate (noted at most every few seconds)")
    ]
    revoked_at: datetime | None


class TokenCreated(TokenView):
    """A new API token; `token` is shown only in this answer."""

    token: Annotated[str, Field(description="the secret: Authorization: Bearer …")]


class TokenList(Page[TokenView]):
    pass


VIEW_COLUMNS = ", ".join(TokenView.model_fields)


def token_hash(token: str) -> bytes:
    """The SHA-256 of a token, as stored."""
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    """A fresh secret token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def lookup(pool: Pool, digest: bytes) -> Principal | None:
    """The live token with this hash (noting that it was used), or None."""
    row = await pool.fetchrow(
        "UPDATE api_tokens SET last_used_at = now()"
        " WHERE token_hash = $1 AND revoked_at IS NULL"
        " RETURNING id, role, partner_id, name, token_hash",
        digest,
    )
    if row is None or not hmac.compare_digest(bytes(row["token_hash"]), digest):
        return None
    return Principal(
        token_id=row["id"], role=row["role"], partner_id=row["partner_id"], name=row["name"]
    )


class TokenStore:
    """Token lookups with a short in-process cache of hits and misses."""

    def __init__(self, ttl: float = CACHE_SECONDS, entries: int = CACHE_ENTRIES) -> None:
        self.ttl = ttl
        self.entries = entries
        self._cache: OrderedDict[bytes, tuple[float, Principal | None]] = OrderedDict()

    async def principal(self, request: web.Request, digest: bytes) -> Principal | None:
        """The principal of the token with this hash, or None (unknown or revoked)."""
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(digest)
            return cached[1]
        found = await lookup(pool_of(request), digest)
        self._cache[digest] = (now + self.ttl, found)
        self._cache.move_to_end(digest)
        while len(self._cache) > self.entries:
            self._cache.popitem(last=False)
        return found

    def forget(self, token_id: int) -> None:
        """Drop a revoked token from the cache now."""
        for digest, (_, principal) in list(self._cache.items()):
            if principal is not None and principal.token_id == token_id:
                del self._cache[digest]


# request[STORE]: the process's TokenStore (set by auth.py), so a revocation reaches its cache.
STORE = web.RequestKey("token_store", TokenStore)


class TokenRequest(BaseModel):
    """The body of ``POST /tokens``."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    partner_id: Id | None = None
    # No control characters (Postgres refuses NUL in text).
    name: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


def _token_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise Problem(404, f"no token with id {raw}")
    return int(raw)


async def create(request: web.Request) -> web.Response:
    """``POST /tokens``: a new token; its secret is in this answer and nowhere else, ever."""
    body = await parse_body(request, TokenRequest)
    token = new_token()
    row = await pool_of(request).fetchrow(
        "INSERT INTO api_tokens (name, role, partner_id, token_hash, prefix)"
        f" VALUES ($1, $2, $3, $4, $5) RETURNING {VIEW_COLUMNS}",
        body.name,
        body.role,
        body.partner_id,
        token_hash(token),
        token[:PREFIX_SHOWN],
    )
    return json_response(
        TokenCreated.model_validate({**record_to_dict(row), "token": token}), status=201
    )


async def list_tokens(request: web.Request) -> web.Response:
    """``GET /tokens``: every token, revoked ones included, without secrets."""
    limit, offset = page(request)
    pool = pool_of(request)
    rows = await pool.fetch(
        f"SELECT {VIEW_COLUMNS} FROM api_tokens ORDER BY id LIMIT $1 OFFSET $2", limit, offset
    )
    total = await pool.fetchval("SELECT count(*) FROM api_tokens")
    items = [TokenView.model_validate(record_to_dict(r)) for r in rows]
    return json_response(TokenList(items=items, total=total))


async def revoke(request: web.Request) -> web.Response:
    """``DELETE /tokens/{id}``: the token stops working (in other API processes within
    ``CACHE_SECONDS``). Revoking a revoked token is fine."""
    token_id = _token_id(request)
    found = await pool_of(request).fetchval(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING id",
        token_id,
    )
    if found is None:
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
