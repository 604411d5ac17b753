"""One declaration per route: what the router, access control, limits and OpenAPI read.

Each resource module exports ``ROUTES: tuple[Route, ...]``; ``app.py`` registers them with
:func:`register`. A ``Route`` carries its access rule (it cannot be made without one), its
body cap and rate limit, whether it is public, and what the OpenAPI document says about it.
The middlewares find the declaration of the route a request matched with :func:`declared`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractResource, AbstractRoute
from pydantic import BaseModel

from services.campaign.http.answers import UpsertResult
from services.campaign.http.rules import ADMIN, Rule, Scope

PREFIX = "/api/v1"
JSON = "application/json"
Method = Literal["GET", "PUT", "POST", "DELETE"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Schema = dict[str, Any]

MIB = 1024 * 1024
DEFAULT_BODY_BYTES = 1 * MIB
# Campaign bodies: id lists run to megabytes.
CAMPAIGN_BODY_BYTES = 8 * MIB
# Bulk upserts of 10,000 records with attributes (and documents, attachments) run to several
# megabytes: the application's own cap.
BULK_BODY_BYTES = 32 * MIB


@dataclass(frozen=True)
class Param:
    """A query or header parameter, as the OpenAPI document lists it."""

    name: str
    schema: Schema
    description: str = ""
    where: Literal["query", "header"] = "query"


# eq=False: a declaration is itself (hashed by identity), so a tuple of them can key a cache.
@dataclass(frozen=True, eq=False)
class Route:
    """One route: method, path (relative to ``PREFIX``), handler, who may call it, limits,
    and its OpenAPI operation.

    Implied problems are added to the operation by ``openapi.py``: 401/403 unless public,
    404 when the path has a parameter, 400/413/415/422 with a body, 422 with query
    parameters, 429 when rate limited.
    """

    method: Method
    path: str
    handler: Handler
    rule: Rule
    summary: str
    answer: type[BaseModel] | None  # the success answer's model; None: no JSON schema
    status: int = 200
    body: type[BaseModel] | None = None
    many: int = 0  # >0: the body is a JSON array of up to this many ``body``s
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    body_cap: int = DEFAULT_BODY_BYTES
    rate_limited: bool = False  # draws on a per-token budget (limits.py)...
    budget: Literal["campaigns", "previews"] = "campaigns"  # ...this one
    media_type: str = JSON
    description: str = ""
    extra: tuple[tuple[int, type[BaseModel], str], ...] = ()  # (status, model, description)
    multipart: bool = False  # the body is a multipart/form-data file upload
    tag: str = ""
    at_root: bool = False  # also served outside PREFIX (probes)

    def __post_init__(self) -> None:
        where = f"{self.method} {self.path}"
        if not isinstance(self.rule, Rule):
            raise TypeError(f"{where} has no access rule: every route needs one")
        if not self.path.startswith("/") or ":" in self.path:
            raise ValueError(f"{where}: a path is '/'-rooted, with plain {{name}} parameters")
        if self.rule.scope is Scope.PATH and (self.rule.subject is None or "{id}" not in self.path):
            raise ValueError(f"{where}: a Scope.PATH rule needs a subject and an {{id}}")
        if not 0 < self.body_cap <= BULK_BODY_BYTES:
            raise ValueError(f"{where}: body cap {self.body_cap} outside 1..{BULK_BODY_BYTES}")

    @property
    def key(self) -> tuple[str, str]:
        """``(method, path)``, the path as the OpenAPI document writes it."""
        return self.method, self.path

    @property
    def public(self) -> bool:
        """Served without a token."""
        return self.rule.public


def bulk_upsert(
    path: str, handler: Handler, summary: str, body: type[BaseModel], many: int
) -> Route:
    """``PUT`` of a JSON array of up to ``many`` records, inserted or replaced by id (what the
    billing system sends): admins only, unscoped tokens only (``Scope.PENDING``), the bulk cap.
    """
    return Route(
        "PUT",
        path,
        handler,
        Rule(ADMIN, Scope.PENDING),
        summary,
        UpsertResult,
        body=body,
        many=many,
        body_cap=BULK_BODY_BYTES,
    )


def tagged(tag: str, *routes: Route) -> tuple[Route, ...]:
    """The routes of one OpenAPI tag."""
    return tuple(dataclasses.replace(route, tag=tag) for route in routes)


# app[DECLARED]: the declaration of every aiohttp route the application registered;
# app[PUBLIC_PATHS]: the full paths of the public ones (a wrong method there is a 405, not 401).
DECLARED = web.AppKey("declared", dict[AbstractRoute, Route])
PUBLIC_PATHS = web.AppKey("public_paths", frozenset[str])
ROUTES = web.AppKey("routes", tuple[Route, ...])
# app[PAGES]: resources outside PREFIX that are no API route (the operator console's pages,
# sign-in and static files, ``console/routes.py``). auth.py lets them in without a principal
# and access.py without a declaration: each page applies ``access.authorize`` with the
# declaration of the API route it is built on, and sends a browser without a session to sign in.
PAGES = web.AppKey("pages", frozenset[AbstractResource])


def register(app: web.Application, routes: tuple[Route, ...]) -> None:
    """Add the routes to the application's router (under ``PREFIX``, and at the root too
    for ``at_root`` ones); refuses two declarations of one method and path."""
    declared: dict[AbstractRoute, Route] = {}
    public: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for route in routes:
        if route.key in seen:
            raise ValueError(f"{route.method} {route.path} is declared twice")
        seen.add(route.key)
        paths = [PREFIX + route.path] + ([route.path] if route.at_root else [])
        for path in paths:
            declared[app.router.add_route(route.method, path, route.handler)] = route
            if route.public:
                public.add(path)
    app[DECLARED] = declared
    app[PUBLIC_PATHS] = frozenset(public)
    app[ROUTES] = tuple(routes)


def register_pages(app: web.Application, resources: Iterable[AbstractResource]) -> None:
    """Mark resources already added to the router as pages (see ``PAGES``)."""
    app[PAGES] = app.get(PAGES, frozenset()) | frozenset(resources)


def find(app: web.Application, method: str, path: str) -> Route:
    """The declaration of ``method path`` (relative to ``PREFIX``); KeyError when none."""
    found = _by_key(app[ROUTES]).get((method, path))
    if found is None:
        raise KeyError(f"{method} {path} is not declared")
    return found


@functools.cache
def _by_key(declared: tuple[Route, ...]) -> dict[tuple[str, str], Route]:
    return {route.key: route for route in declared}


def is_page(request: web.Request) -> bool:
    """Whether the request is for a page (``PAGES``), or for no route outside the API (the
    router's 404, as a browser expects it, not a 401)."""
    match = request.match_info
    if match.http_exception is not None:
        return not (request.path + "/").startswith(PREFIX + "/")
    return match.route.resource in request.app.get(PAGES, frozenset())


def declared(request: web.Request) -> Route | None:
    """The declaration of the route a request matched; None when it matched none."""
    match = request.match_info
    if match.http_exception is not None:
        return None
    table = request.app.get(DECLARED)
    return table.get(match.route) if table is not None else None


def is_public(request: web.Request) -> bool:
    """Whether the request is for a route served without a token."""
    route = declared(request)
    if route is not None:
        return route.public
    return request.path in request.app.get(PUBLIC_PATHS, frozenset())
