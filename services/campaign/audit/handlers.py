"""The audit trail: who (which token) changed the gateway or email settings, tokens or
templates, and when. Handlers that change them do it inside :func:`change`, which writes the
trail's row in the same transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from services.campaign.audit import repo
from services.campaign.audit.models import AUDIT_KINDS, AuditAction, AuditKind, AuditList
from services.campaign.http.access import principal_of
from services.campaign.http.params import PAGE, enum
from services.campaign.http.problems import field_error
from services.campaign.http.routes import Param, Route, tagged
from services.campaign.http.rules import ADMIN, Rule, Scope
from services.campaign.http.web import json_response, page, pool_of
from shared.db import Connection


class Change:
    """The change in progress: the handler names its object once it knows it."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.object_id = ""


@asynccontextmanager
async def change(
    request: web.Request, kind: AuditKind, action: AuditAction, object_id: object = ""
) -> AsyncIterator[Change]:
    """A transaction for one change; the audit row is written in it when the block ends
    without an error (an error rolls back the change and its row alike)."""
    principal = principal_of(request)
    async with pool_of(request).acquire() as conn, conn.transaction():
        current = Change(conn)
        current.object_id = str(object_id)
        yield current
        token_id = principal.token_id if principal is not None else None
        await repo.record(conn, token_id, kind, action, current.object_id)


async def list_audit(request: web.Request) -> web.Response:
    """``GET /audit``: newest first, optionally one ``kind``."""
    kind = request.query.get("kind") or None
    if kind is not None and kind not in AUDIT_KINDS:
        raise field_error("kind", f"must be one of {', '.join(AUDIT_KINDS)}")
    limit, offset = page(request)
    rows, total = await repo.entries(pool_of(request), kind, limit, offset)
    return json_response(AuditList.model_validate({"items": rows, "total": total}))


ROUTES = tagged(
    "logs",  # the audit trail is a log (of changes)
    Route("GET", "/audit", list_audit, Rule(ADMIN, Scope.GLOBAL),
          "Who changed settings, tokens and templates, and when (newest first)", AuditList,
          params=(*PAGE, Param("kind", enum(AUDIT_KINDS)))),
)  # fmt: skip
