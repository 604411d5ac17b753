"""Who may use which route: roles, partner scope, and the table of rules per route.

Every route of the API has a rule in ``RULES``, keyed by ``(method, path template)`` with the
template as the OpenAPI document writes it (relative to ``/api/v1``; ``{collection:a|b}``
routes have one entry per alternative). A route without a rule is refused with 403, and
``tests/unit/test_access.py`` fails for any route of the application that has none.

Roles: ``admin`` may do everything; ``operator`` reads the directory, runs campaigns, edits
templates, reads logs and the settings; ``viewer`` reads campaign history and logs.

Partner scope: a token with a ``partner_id`` sees and targets only that partner's people,
campaigns and messages. Each rule says how its route is kept inside the partner (``Scope``);
routes whose handlers do not apply the scope yet refuse partner-scoped tokens altogether.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractResource, AbstractRoute

from services.campaign.problems import Handler, Problem
from services.campaign.web import pool_of
from shared.db import Pool
from shared.models import Filters

PREFIX = "/api/v1"

Role = Literal["admin", "operator", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "operator", "viewer")


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


class Scope(enum.Enum):
    """How a route keeps a partner-scoped token inside its partner."""

    NONE = "none"  # no partner data (templates read, company details, ...): allowed
    PATH = "path"  # the path's {id} names a partner's object: checked here before the handler
    HANDLER = "handler"  # the handler narrows what it reads and writes to request["principal"]
    GLOBAL = "global"  # deployment-wide (settings, tokens, dead letters): unscoped tokens only
    PENDING = "pending"  # partner data the handler does not narrow yet: unscoped tokens only


# What the {id} of a Scope.PATH route names.
Subject = Literal["customer", "lead", "campaign", "sms", "email"]


@dataclass(frozen=True)
class Rule:
    """Who may call one route."""

    roles: frozenset[Role]
    scope: Scope = Scope.NONE
    subject: Subject | None = None
    public: bool = False

    def allows(self, role: Role) -> bool:
        return self.public or role in self.roles


ADMIN: frozenset[Role] = frozenset({"admin"})
OPERATOR: frozenset[Role] = frozenset({"admin", "operator"})
VIEWER: frozenset[Role] = frozenset({"admin", "operator", "viewer"})
PUBLIC = Rule(frozenset(), public=True)


def _rule(
    roles: frozenset[Role], scope: Scope = Scope.NONE, subject: Subject | None = None
) -> Rule:
    return Rule(roles, scope, subject)


def _directory(collection: str, kind: Subject) -> dict[tuple[str, str], Rule]:
    return {
        ("PUT", f"/{collection}"): _rule(ADMIN, Scope.PENDING),
        ("GET", f"/{collection}"): _rule(OPERATOR, Scope.HANDLER),
        ("GET", f"/{collection}/{{id}}"): _rule(OPERATOR, Scope.PATH, kind),
        ("DELETE", f"/{collection}/{{id}}"): _rule(ADMIN, Scope.PATH, kind),
    }


RULES: dict[tuple[str, str], Rule] = {
    **_directory("customers", "customer"),
    **_directory("leads", "lead"),
    # Reference names for pick lists: partners are narrowed to a scoped token's own partner
    **{("PUT", f"/{c}"): _rule(ADMIN, Scope.PENDING) for c in ("partners", "locations", "tariffs")},
    ("GET", "/partners"): _rule(OPERATOR, Scope.HANDLER),
    ("GET", "/locations"): _rule(OPERATOR),
    ("GET", "/tariffs"): _rule(OPERATOR),
    # Campaigns
    ("POST", "/campaigns/preview"): _rule(OPERATOR, Scope.HANDLER),
    ("POST", "/campaigns/test"): _rule(OPERATOR, Scope.HANDLER),
    ("POST", "/campaigns"): _rule(OPERATOR, Scope.HANDLER),
    ("GET", "/campaigns"): _rule(VIEWER, Scope.HANDLER),
    ("GET", "/campaigns/{id}"): _rule(VIEWER, Scope.PATH, "campaign"),
    ("GET", "/campaigns/{id}/recipients"): _rule(VIEWER, Scope.PATH, "campaign"),
    ("GET", "/campaigns/{id}/recipients/{customer_id}/message"): _rule(
        VIEWER, Scope.PATH, "campaign"
    ),
    ("POST", "/campaigns/{id}/cancel"): _rule(OPERATOR, Scope.PATH, "campaign"),
    ("DELETE", "/campaigns/{id}"): _rule(OPERATOR, Scope.PATH, "campaign"),
    ("POST", "/campaigns/{id}/pause"): _rule(OPERATOR, Scope.PATH, "campaign"),
    ("POST", "/campaigns/{id}/resume"): _rule(OPERATOR, Scope.PATH, "campaign"),
    # Templates are shared by every partner: partner tokens read them, but change them only
    # once templates have a partner of their own.
    ("GET", "/templates"): _rule(OPERATOR),
    ("POST", "/templates"): _rule(OPERATOR, Scope.PENDING),
    ("GET", "/templates/{id}"): _rule(OPERATOR),
    ("PUT", "/templates/{id}"): _rule(OPERATOR, Scope.PENDING),
    ("DELETE", "/templates/{id}"): _rule(OPERATOR, Scope.PENDING),
    # Settings
    ("GET", "/config/sms"): _rule(OPERATOR, Scope.GLOBAL),
    ("GET", "/config/email"): _rule(OPERATOR, Scope.GLOBAL),
    ("PUT", "/config/email"): _rule(ADMIN, Scope.GLOBAL),
    ("PUT", "/config/sms"): _rule(ADMIN, Scope.GLOBAL),
    ("POST", "/config/sms/resume"): _rule(ADMIN, Scope.GLOBAL),
    ("POST", "/config/sms/test"): _rule(ADMIN, Scope.GLOBAL),
    ("GET", "/config/company"): _rule(OPERATOR),
    ("PUT", "/config/company"): _rule(ADMIN, Scope.GLOBAL),
    # Logs
    ("GET", "/logs/sms"): _rule(VIEWER, Scope.HANDLER),
    ("GET", "/logs/sms/{id}"): _rule(VIEWER, Scope.PATH, "sms"),
    ("GET", "/logs/email"): _rule(VIEWER, Scope.HANDLER),
    ("GET", "/logs/email/{id}"): _rule(VIEWER, Scope.PATH, "email"),
    ("GET", "/dead-letters"): _rule(ADMIN, Scope.GLOBAL),
    # Files: uploads are not anyone's yet; documents belong to customers (checked per record
    # once the handler does it)
    ("POST", "/attachments"): _rule(OPERATOR),
    ("PUT", "/documents"): _rule(ADMIN, Scope.PENDING),
    # The customer portal inbox
    ("GET", "/portal/customers/{id}/messages"): _rule(OPERATOR, Scope.PATH, "customer"),
    ("POST", "/portal/customers/{id}/messages/{message_id}/read"): _rule(
        OPERATOR, Scope.PATH, "customer"
    ),
    # API tokens
    ("POST", "/tokens"): _rule(ADMIN, Scope.GLOBAL),
    ("GET", "/tokens"): _rule(ADMIN, Scope.GLOBAL),
    ("DELETE", "/tokens/{id}"): _rule(ADMIN, Scope.GLOBAL),
    # Without a token (see auth.PUBLIC_PATHS)
    ("GET", "/callbacks/bulksms"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
}

# --------------------------------------------------------------------------------------------
# Route templates
# --------------------------------------------------------------------------------------------

_GROUP = re.compile(r"\(\?P<(\w+)>([^()]*)\)")
_PLAIN = "[^{}/]+"


@functools.cache
def _template(resource: AbstractResource) -> tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """A resource's path template, and each ``{name:a|b}`` parameter with its words."""
    info = resource.get_info()
    if "path" in info:
        return str(info["path"]), ()
    if "formatter" not in info:
        return "", ()
    alternatives = tuple(
        (name, tuple(regex.split("|")))
        for name, regex in _GROUP.findall(info["pattern"].pattern)
        if regex != _PLAIN
    )
    return str(info["formatter"]), alternatives


def _relative(path: str) -> str:
    return path.removeprefix(PREFIX) if path.startswith(PREFIX + "/") else path


# Resources named so are the console's pages (console/routes.py): they call no API handler and
# check their session themselves, so they have no rule here.
CONSOLE_NAME = "console."


def _console(resource: AbstractResource) -> bool:
    return (resource.name or "").startswith(CONSOLE_NAME)


def route_keys(route: AbstractRoute) -> list[tuple[str, str]]:
    """The rule keys of a route: one per word of each ``{name:a|b}`` parameter."""
    assert route.resource is not None
    if _console(route.resource):
        return []
    template, alternatives = _template(route.resource)
    paths = [template]
    for name, words in alternatives:
        paths = [p.replace(f"{{{name}}}", word) for p in paths for word in words]
    return [(route.method, _relative(p)) for p in paths]


def route_key(request: web.Request) -> tuple[str, str] | None:
    """The rule key of the route a request matched; None when it matched none (404/405)."""
    match = request.match_info
    if match.http_exception is not None:
        return None
    resource = match.route.resource
    if resource is None or _console(resource):
        return None
    template, alternatives = _template(resource)
    for name, _ in alternatives:
        template = template.replace(f"{{{name}}}", match[name])
    return match.route.method, _relative(template)


# --------------------------------------------------------------------------------------------
# Decisions
# --------------------------------------------------------------------------------------------


def forbidden(detail: str, field: str | None = None) -> Problem:
    """A 403 problem."""
    errors = [{"field": field, "message": detail}] if field else []
    return Problem(403, detail, errors=errors, kind="forbidden")


def authorize(key: tuple[str, str], principal: Principal | None) -> Rule:
    """The route's rule if ``principal`` may call it (before any partner object check)."""
    method, path = key
    rule = RULES.get(key)
    if rule is None:
        raise forbidden(f"{method} {path} has no access rule: refused for every token")
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


_OWNER_SQL: dict[Subject, str] = {
    "customer": "SELECT partner_id FROM people WHERE kind = 'customer' AND id = $1",
    "lead": "SELECT partner_id FROM people WHERE kind = 'lead' AND id = $1",
    "campaign": "SELECT partner_id FROM campaigns WHERE id = $1",
    # A message belongs to its campaign's partner, or (without one) to its person's.
    **{
        channel: "SELECT coalesce(c.partner_id, p.partner_id) FROM messages m"
        " LEFT JOIN campaigns c ON c.id = m.campaign_id"
        " LEFT JOIN people p ON p.kind = m.recipient_kind AND p.id = m.customer_id"
        f" WHERE m.id = $1 AND m.channel = '{channel}'"
        for channel in ("sms", "email")
    },
}


async def owner(pool: Pool, subject: Subject, object_id: int) -> tuple[bool, int | None]:
    """Whether the object exists, and the partner it belongs to (None: no partner)."""
    rows = await pool.fetch(_OWNER_SQL[subject], object_id)
    return (True, rows[0][0]) if rows else (False, None)


async def check_subject(request: web.Request, rule: Rule, principal: Principal) -> None:
    """403 when the object the path names belongs to another partner (or to none).

    An object that does not exist passes: the handler answers 404.
    """
    if not principal.scoped or rule.scope is not Scope.PATH or rule.subject is None:
        return
    raw = request.match_info.get("id", "")
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        return
    exists, partner = await owner(pool_of(request), rule.subject, int(raw))
    if exists and partner != principal.partner_id:
        raise forbidden(f"{rule.subject} {raw} is outside partner {principal.partner_id}")


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a request whose principal may not use the route (after auth.middleware)."""
    key = route_key(request)
    if key is None:  # no such route: the router's 404/405
        return await handler(request)
    principal = principal_of(request)
    rule = authorize(key, principal)
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
