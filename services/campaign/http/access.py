"""Access control: who a request acts for (``Principal``), and the route's rule applied.

Every route's declaration (``http/routes.py``) carries its ``Rule`` (``http/rules.py``); a
matched route without a declaration is refused with 403.

Partner scope: a token with a ``partner_id`` sees and targets only that partner's people,
campaigns and messages. Each rule says how its route is kept inside the partner (``Scope``);
routes whose handlers do not apply the scope yet refuse partner-scoped tokens altogether.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.campaign.http import repo, routes
from services.campaign.http.problems import Handler, Problem
from services.campaign.http.rules import ROLES, Role, Rule, Scope
from services.campaign.http.web import pool_of, web_id
from shared.models import Filters


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: an API token (``token_id``), or the bootstrap token (None)."""

    token_id: int | None
    role: Role
    partner_id: int | None = None
    name: str = ""

    @property
    def scoped(self) -> bool:
        """Whether it sees only one partner's data."""
        return self.partner_id is not None


# request[PRINCIPAL]: the caller, set by auth.py on every route but the public ones (a typed
# key: aiohttp warns about plain string keys). Handlers read it with principal_of(request).
PRINCIPAL = web.RequestKey("principal", Principal)


# --------------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------------


def forbidden(detail: str, field: str | None = None) -> Problem:
    """A 403 problem."""
    errors = [{"field": field, "message": detail}] if field else []
    return Problem(403, detail, errors=errors, kind="forbidden")


def authorize(route: routes.Route, principal: Principal | None) -> Rule:
    """The route's rule if ``principal`` may call it (before any partner object check)."""
    method, path, rule = route.method, route.path, route.rule
    if rule.public:
        return rule
    if principal is None:
        raise forbidden(f"{method} {path} needs a token")
    if principal.role not in rule.roles:
        allowed = ", ".join(r for r in ROLES if r in rule.roles)
        raise forbidden(f"the {principal.role} role may not {method} {path} (allowed: {allowed})")
    if principal.scoped and rule.scope in (Scope.GLOBAL, Scope.PENDING):
        raise forbidden(
            f"{method} {path} is not available to a token scoped to partner {principal.partner_id}"
        )
    return rule


async def check_subject(request: web.Request, rule: Rule, principal: Principal) -> None:
    """404 when the object the path names belongs to another partner, to none, or does not
    exist: a scoped token learns nothing about objects outside its partner (no existence
    oracle), and a route whose owner row is missing fails closed.
    """
    if not principal.scoped or rule.scope is not Scope.PATH or rule.subject is None:
        return
    raw = request.match_info.get("id", "")
    object_id = web_id(raw)
    if object_id is None:
        return  # not an id at all: the handler's own 404
    exists, partner = await repo.owner(pool_of(request), rule.subject, object_id)
    if not exists or partner != principal.partner_id:
        raise Problem(404, f"no {rule.subject} with id {raw}")


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a request whose principal may not use the route (after auth.middleware)."""
    if request.match_info.http_exception is not None:  # no such route: the router's 404/405
        return await handler(request)
    route = routes.declared(request)
    if route is None and routes.is_page(request):
        return await handler(request)  # it authorizes itself (routes.PAGES)
    if route is None:
        raise forbidden(
            f"{request.method} {request.path} has no access rule: refused for every token"
        )
    principal = principal_of(request)
    rule = authorize(route, principal)
    if principal is not None:
        await check_subject(request, rule, principal)
    return await handler(request)


# --------------------------------------------------------------------------------------------
# Helpers for handlers that apply the partner scope (Scope.HANDLER)
# --------------------------------------------------------------------------------------------


def principal_of(request: web.Request) -> Principal | None:
    """The caller; None on public routes."""
    return request.get(PRINCIPAL)


def partner_of(request: web.Request) -> int | None:
    """The partner the caller is scoped to, or None (it sees every partner)."""
    principal = principal_of(request)
    return principal.partner_id if principal is not None else None


def scope_filters(principal: Principal | None, filters: Filters) -> Filters:
    """Campaign filters narrowed to the principal's partner.

    An unscoped principal gets ``filters`` unchanged. A scoped one gets ``partner_ids`` forced
    to ``[its partner]``; filters naming another partner are refused with 403.
    """
    if principal is None or principal.partner_id is None:
        return filters
    others = [p for p in filters.partner_ids or () if p != principal.partner_id]
    if others:
        raise forbidden(
            f"partner {others[0]} is outside this token's partner {principal.partner_id}",
            "filters.partner_ids",
        )
    return filters.model_copy(update={"partner_ids": [principal.partner_id]})


def check_partner(principal: Principal | None, partner_ids: Iterable[Any], field: str) -> None:
    """403 unless every value (e.g. records' ``partner_id``) is the principal's partner.

    For writes by a scoped token (``PUT /customers``): a record with another partner, or none,
    would leave the partner.
    """
    if principal is None or principal.partner_id is None:
        return
    for value in partner_ids:
        if value != principal.partner_id:
            raise forbidden(
                f"partner_id {value} is outside this token's partner {principal.partner_id}",
                field,
            )


def partner_condition(
    principal: Principal | None, column: str, param: int
) -> tuple[str, list[Any]]:
    """An SQL condition keeping rows of the principal's partner, and its argument.

    ``column`` must be a literal column expression of the caller's query (never user input),
    ``param`` the number of the placeholder to use. Unscoped: ``("true", [])``.
    """
    if principal is None or principal.partner_id is None:
        return "true", []
    return f"{column} = ${param}", [principal.partner_id]
