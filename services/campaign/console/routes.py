"""The console's routes outside ``/api/v1``: pages, sign-in, static files.

They are no API route, so they have no ``Route`` declaration: ``register`` marks them as
pages (``http/routes.PAGES``). A screen opens only if its principal may call the API route it
is built on (``Screen.needs``), decided by ``access.authorize`` with that route's declaration;
a browser without a session is sent to sign in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from services.campaign.console import signin
from services.campaign.console.render import HEADERS, STATIC, may, menu, render
from services.campaign.console.screens import Screen
from services.campaign.console.screens.registry import SCREENS
from services.campaign.http import access, routes

SIGN_IN = "/signin"


def page(screen: Screen) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler of one screen: the shell and the screen's template and script."""

    async def handler(request: web.Request) -> web.StreamResponse:
        principal = access.principal_of(request)
        if principal is None:
            raise web.HTTPSeeOther(SIGN_IN)
        if not may(request.app, principal, screen.needs):
            return render(request, "forbidden.html", {"screen": screen}, 403)
        return render(request, screen.template, {"screen": screen})

    return handler


async def home(request: web.Request) -> web.StreamResponse:
    """``/``: the first screen the principal may open."""
    principal = access.principal_of(request)
    groups = menu(request.app, principal)
    if principal is None or not groups:
        raise web.HTTPSeeOther(SIGN_IN)
    raise web.HTTPSeeOther(groups[0][1][0].path)


async def _static_headers(request: web.Request, response: web.StreamResponse) -> None:
    if request.path.startswith("/static/"):
        for name, value in HEADERS.items():
            if name != "Cache-Control":
                response.headers.setdefault(name, value)


def register(app: web.Application) -> None:
    """Add the console to the campaign API's application (after its API routes: every
    screen's ``needs`` must be a declared route)."""
    for screen in SCREENS:
        routes.find(app, *screen.needs)  # KeyError: a screen built on no API route
    router = app.router
    added = [router.add_get("/", home).resource]
    sign_in = router.add_resource(SIGN_IN)
    sign_in.add_route("GET", signin.form)
    sign_in.add_route("POST", signin.sign_in)
    added += [sign_in, router.add_post("/signout", signin.sign_out).resource]
    added.append(router.add_static("/static/", STATIC))
    added += [router.add_get(screen.path, page(screen)).resource for screen in SCREENS]
    routes.register_pages(app, (resource for resource in added if resource is not None))
    app.on_response_prepare.append(_static_headers)
