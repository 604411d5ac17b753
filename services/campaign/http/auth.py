"""Bearer-token authentication of the API: who is calling, as ``request["principal"]``.

Two kinds of token:

- ``HERALD_API_TOKEN``, the deployment's bootstrap admin token (never stored);
- API tokens made with ``POST /tokens`` (``tokens/``: 32 random bytes, stored only as their
  SHA-256, looked up by hash and compared in constant time, cached for a few seconds).

Routes declared public (``http/routes.py``: probes, metrics, the OpenAPI document, gateway
callbacks) need no token. The console's session cookie stands for the token it was opened
with (``console/sessions.py``). Which role and partner may use a route is decided next, by
``access.py``.
"""

from __future__ import annotations

import functools
import hmac

from aiohttp import web
from aiohttp.typedefs import Middleware

from services.campaign.console import sessions
from services.campaign.http import routes
from services.campaign.http.access import PRINCIPAL, Principal
from services.campaign.http.problems import Handler, Problem
from services.campaign.tokens import store as tokens

BOOTSTRAP = Principal(token_id=None, role="admin", name="HERALD_API_TOKEN")
INSECURE_DEV = Principal(token_id=None, role="admin", name="HERALD_INSECURE_DEV")
# Longer than any token Herald makes (and than a sane bootstrap token): not even hashed.
MAX_TOKEN_LENGTH = 512


def _unauthorized(detail: str, challenge: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": challenge})


def middleware(token: str | None) -> Middleware:
    """Authenticate ``Authorization: Bearer <token>`` and set ``request["principal"]``.

    ``token`` is the bootstrap admin token. None (only with HERALD_INSECURE_DEV=1) lets a
    request without an Authorization header in as an admin; a token that is given is checked.
    """
    bootstrap = tokens.token_hash(token) if token else None
    store = tokens.TokenStore()

    async def principal_of(request: web.Request, given: str) -> Principal | None:
        if len(given) > MAX_TOKEN_LENGTH:
            return None
        return await by_digest(request, tokens.token_hash(given))

    async def by_digest(request: web.Request, digest: bytes) -> Principal | None:
        # Constant-time comparison: the answer time says nothing about the bootstrap token.
        if bootstrap is not None and hmac.compare_digest(digest, bootstrap):
            return BOOTSTRAP
        return await store.principal(request, digest)

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[tokens.STORE] = store
        resolve: sessions.Resolve = functools.partial(by_digest, request)
        request[sessions.RESOLVE] = resolve
        if routes.is_public(request):
            return await handler(request)
        header = request.headers.get("Authorization", "")
        if not header:
            # The console: a session cookie stands for its token (console/sessions.py); its
            # pages answer without one (they send the browser to sign in).
            session_principal = await sessions.principal(request)
            if session_principal is not None:
                request[PRINCIPAL] = session_principal
                return await handler(request)
            if routes.is_page(request):
                return await handler(request)
        if not header and token is None:
            request[PRINCIPAL] = INSECURE_DEV
            return await handler(request)
        scheme, _, given = header.partition(" ")
        given = given.strip()
        if scheme.lower() != "bearer" or not given:
            raise _unauthorized(
                "missing bearer token (Authorization: Bearer <token>)", 'Bearer realm="herald"'
            )
        principal = await principal_of(request, given)
        if principal is None:
            raise _unauthorized("invalid bearer token", 'Bearer error="invalid_token"')
        request[PRINCIPAL] = principal
        return await handler(request)

    return check
