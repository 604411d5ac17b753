"""Rendering the console's pages: the Jinja2 environment, what a page may show, headers."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from services.campaign.console import sessions
from services.campaign.console.screens import Screen
from services.campaign.console.screens.registry import SCREENS
from services.campaign.http import access, routes
from services.campaign.http.access import Principal
from services.campaign.http.problems import Problem
from shared import vocabulary

STATIC = Path(__file__).parent / "static"
# No inline script or style anywhere: every script and stylesheet is a file under /static/.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@functools.cache
def environment() -> jinja2.Environment:
    """The templates of ``templates/``, autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("services.campaign.console", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["vocabulary"] = vocabulary  # status lists: the same words as the API's
    env.filters["label"] = label
    return env


def label(value: str) -> str:
    """How a status value is shown: ``sent_with_error`` -> ``Sent with error``."""
    return value.replace("_", " ").capitalize()


def may(app: web.Application, principal: Principal | None, key: tuple[str, str]) -> bool:
    """Whether the principal may call this API route (its declaration's rule decides)."""
    if principal is None:
        return False
    try:
        access.authorize(routes.find(app, *key), principal)
    except Problem:
        return False
    return True


def allowed_routes(app: web.Application, principal: Principal | None) -> list[str]:
    """Every API route the principal may call, as ``"METHOD /path"``: what the scripts show."""
    return sorted(f"{r.method} {r.path}" for r in app[routes.ROUTES] if may(app, principal, r.key))


def menu(app: web.Application, principal: Principal | None) -> list[tuple[str, list[Screen]]]:
    """The menu groups and the screens of each the principal may open."""
    groups: dict[str, list[Screen]] = {}
    for screen in SCREENS:
        if screen.in_menu and may(app, principal, screen.needs):
            groups.setdefault(screen.menu, []).append(screen)
    return list(groups.items())


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    """A page of the console, with its security headers."""
    principal = access.principal_of(request)
    session = request.get(sessions.SESSION)
    page = {
        "role": principal.role if principal else None,
        "partner_id": principal.partner_id if principal else None,
        "name": principal.name if principal else "",
        "csrf": session.csrf_token if session else "",
        "can": allowed_routes(request.app, principal) if principal else [],
    }
    text = (
        environment()
        .get_template(template)
        .render(
            principal=principal,
            menu=menu(request.app, principal),
            page=page,
            current=request.path,
            **context,
        )
    )
    return web.Response(
        status=status, text=text, content_type="text/html", charset="utf-8", headers=HEADERS
    )
