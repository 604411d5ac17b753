"""API tokens: how they are made and hashed, and the cached lookup the authentication
middleware uses (the routes are in ``handlers.py``, the SQL in ``repo.py``).

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
import secrets
import time
from collections import OrderedDict

from aiohttp import web

from services.campaign.http.access import Principal
from services.campaign.http.web import pool_of
from services.campaign.tokens import repo

TOKEN_PREFIX = "hrd_"
PREFIX_SHOWN = len(TOKEN_PREFIX) + 6
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 4096


def token_hash(token: str) -> bytes:
    """The SHA-256 of a token, as stored."""
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    """A fresh secret token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


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
        found = await repo.lookup(pool_of(request), digest)
        self._cache[digest] = (now + self.ttl, found)
        self._cache.move_to_end(digest)
        while len(self._cache) > self.entries:
            self._cache.popitem(last=False)
        return found

    def __repr__(self) -> str:
        return f"TokenStore(ttl={self.ttl:g}s, cached={len(self._cache)}/{self.entries})"

    def forget(self, token_id: int) -> None:
        """Drop a revoked token from the cache now."""
        for digest, (_, principal) in list(self._cache.items()):
            if principal is not None and principal.token_id == token_id:
                del self._cache[digest]


# request[STORE]: the process's TokenStore (set by auth.py), so a revocation reaches its cache.
STORE = web.RequestKey("token_store", TokenStore)
