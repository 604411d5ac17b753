"""Console sessions: a random id in an HttpOnly cookie, the rest in Postgres.

A session row keeps the SHA-256 of the API token it was opened with, the very digest the
bearer-token path looks up. ``principal`` hands that digest to the resolver ``http/auth.py`` sets
on the request, so a session is exactly its token: same role, same partner scope, and it stops
working the moment the token is revoked. The token itself is never stored, and never reaches
the browser again after sign-in (no URL, no localStorage or sessionStorage).

State-changing requests made with the cookie must carry the session's CSRF token in
``X-CSRF-Token`` and come from this origin (``Origin``, or ``Referer`` when a browser sends no
Origin): SameSite=Strict already keeps other sites' requests cookie-less; these two checks hold
even where it does not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp import web

from services.campaign.console import repo
from services.campaign.http.access import Principal
from services.campaign.http.problems import Problem
from services.campaign.http.web import pool_of
from shared.db import Pool

COOKIE = "herald_session"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME = timedelta(hours=12)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Resolve = Callable[[bytes], Awaitable[Principal | None]]
# Set by http/auth.py on every request: token digest -> principal, as for a bearer token.
RESOLVE: web.RequestKey[Resolve] = web.RequestKey("console_resolve")


@dataclass(frozen=True)
class Session:
    """An open session: the token digest it acts as, and its CSRF token."""

    token_hash: bytes
    csrf_token: str


SESSION = web.RequestKey("console_session", Session)


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


async def open_session(pool: Pool, token_hash: bytes) -> tuple[str, Session]:
    """A new session for this token digest: the cookie value and the session."""
    value = secrets.token_urlsafe(32)
    session = Session(token_hash, secrets.token_urlsafe(32))
    await repo.insert_session(pool, _digest(value), token_hash, session.csrf_token, LIFETIME)
    return value, session


async def close_session(pool: Pool, value: str) -> None:
    """Forget a session (sign out)."""
    await repo.delete_session(pool, _digest(value))


async def find(pool: Pool, value: str) -> Session | None:
    """The live session of a cookie value, or None."""
    if len(value) > 100:
        return None
    found = await repo.live_session(pool, _digest(value))
    return Session(*found) if found else None


def same_origin(request: web.Request) -> bool:
    """Whether the request says it comes from a page of this origin."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
    # Host and port only: behind a proxy that ends TLS the browser's https origin reaches us
    # over http, and the scheme adds nothing the CSRF token does not already ensure.
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.netloc == request.host


def check_origin(request: web.Request) -> None:
    """403 unless a state-changing request comes from this origin."""
    if not same_origin(request):
        raise Problem(403, "cross-origin request refused (Origin must be this console)")


def check_csrf(request: web.Request, session: Session) -> None:
    """403 unless a state-changing request carries the session's CSRF token, from here."""
    given = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(given.encode(), session.csrf_token.encode()):
        raise Problem(403, f"missing or wrong {CSRF_HEADER} header for this session")
    check_origin(request)


async def principal(request: web.Request) -> Principal | None:
    """The principal of the request's session cookie, or None (no, expired or dead session).

    Checks CSRF and origin on state-changing requests (403).
    """
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    session = await find(pool_of(request), value)
    if session is None:
        return None
    found: Principal | None = await request[RESOLVE](session.token_hash)
    if found is None:  # the token was revoked
        return None
    if request.method not in SAFE_METHODS:
        check_csrf(request, session)
    request[SESSION] = session
    return found


def set_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure behind HTTPS."""
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="Strict",
        # Behind a proxy that ends TLS too (honouring the header can only make it stricter).
        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
    )


def clear_cookie(response: web.StreamResponse) -> None:
    """Drop the session cookie from the browser."""
    response.del_cookie(COOKIE, path="/")
