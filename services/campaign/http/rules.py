"""Who may call a route: roles, how a route keeps a partner-scoped token inside its partner.

A ``Rule`` is part of every route's declaration (``routes.Route``); ``access.py`` applies it.

Roles: ``admin`` may do everything; ``operator`` reads the directory, runs campaigns, edits
templates, reads logs and the settings; ``viewer`` reads campaign history and logs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "operator", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "operator", "viewer")


class Scope(enum.Enum):
    """How a route keeps a partner-scoped token inside its partner."""

    NONE = "none"  # no partner data (templates read, company details, ...): allowed
    PATH = "path"  # the path's {id} names a partner's object: checked before the handler
    HANDLER = "handler"  # the handler narrows what it reads and writes to the principal
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
# Served without a token: probes, metrics, the OpenAPI document, gateway callbacks.
PUBLIC = Rule(frozenset(), public=True)
