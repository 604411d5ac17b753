"""Sign in with an API token (a session opens) and sign out (it closes)."""

from __future__ import annotations

from aiohttp import web

from services.campaign.console import sessions
from services.campaign.console.render import render
from services.campaign.http.auth import MAX_TOKEN_LENGTH
from services.campaign.http.web import pool_of
from services.campaign.tokens import store as tokens


async def form(request: web.Request) -> web.StreamResponse:
    """``GET /signin``: the form asking for an API token."""
    return render(request, "signin.html", {"error": ""})


async def sign_in(request: web.Request) -> web.StreamResponse:
    """``POST /signin``: check the token as the API would, open a session, go to the console."""
    sessions.check_origin(request)
    data = await request.post()
    given = str(data.get("token", "")).strip()
    error = ""
    principal = None
    if not given:
        error = "enter an API token"
    elif len(given) <= MAX_TOKEN_LENGTH:
        principal = await request[sessions.RESOLVE](tokens.token_hash(given))
    if principal is None:
        # The field is left empty on purpose: a token is never echoed back into a page.
        return render(request, "signin.html", {"error": error or "invalid API token"}, 401)
    value, _ = await sessions.open_session(pool_of(request), tokens.token_hash(given))
    response = web.HTTPSeeOther("/")
    sessions.set_cookie(request, response, value)
    return response


async def sign_out(request: web.Request) -> web.StreamResponse:
    """``POST /signout`` (with the CSRF header, checked by auth.py): close the session."""
    value = request.cookies.get(sessions.COOKIE)
    if value:
        await sessions.close_session(pool_of(request), value)
    response = web.Response(status=204)
    sessions.clear_cookie(response)
    return response
