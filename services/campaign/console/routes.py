"""The console's routes outside ``/api/v1``: pages, sign-in, static files.

Every resource is named ``console.*``: ``access.py`` gives such routes no rule, since they call
no API handler; a page checks itself that its principal may call the API route it is built on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from services.campaign import access
from services.campaign.console import signin
from services.campaign.console.render import HEADERS, STATIC, may, menu, render
from services.campaign.console.screens import Screen
from services.campaign.console.screens.registry import SCREENS

SIGN_IN = "/signin"


def page(screen: Screen) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler of one screen: the shell and the screen's template and script."""

    async def handler(request: web.Request) -> web.StreamResponse:
        principal = access.principal_of(request)
        if principal is None:
            raise web.HTTPSeeOther(SIGN_IN)
        if not may(principal, screen.needs):
            return render(request, "forbidden.html", {"screen": screen}, 403)
        return render(request, screen.template, {"screen": screen})

    return handler


async def home(request: web.Request) -> web.StreamResponse:
    """``/``: the first screen the principal may open."""
    principal = access.principal_of(request)
    groups = menu(principal)
    if principal is None or not groups:
        raise web.HTTPSeeOther(SIGN_IN)
    raise web.HTTPSeeOther(groups[0][1][0].path)


async def _static_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/static/"):
        for name, value in HEADERS.items():
            if name != "Cache-Control":
                response.headers.setdefault(name, value)


def register(app: web.Application) -> None:
    """Add the console to the campaign API's application."""
    router = app.router
    router.add_get("/", home, name="console.home")
    sign_in = router.add_resource(SIGN_IN, name="console.signin")
    sign_in.add_route("GET", signin.form)
    sign_in.add_route("POST", signin.sign_in)
    router.add_post("/signout", signin.sign_out, name="console.signout")
    router.add_static("/static/", STATIC, name="console.static")
    for screen in SCREENS:
        router.add_get(screen.path, page(screen), name=f"console.{screen.name}")
    app.on_response_prepare.append(_static_headers)
