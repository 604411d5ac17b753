"""The customer portal inbox: what portal campaigns left for a customer."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from services.campaign.http.answers import Answer, Page
from services.campaign.http.params import PAGE
from services.campaign.http.problems import Problem
from services.campaign.http.routes import Route, tagged
from services.campaign.http.rules import OPERATOR, Rule, Scope
from services.campaign.http.web import json_response, page, path_id, pool_of
from shared.db import record_to_dict
from shared.models import Id


class PortalMessage(Answer):
    """A message in a customer's portal inbox."""

    id: Id
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None
    message_id: Id


class PortalMessageList(Page[PortalMessage]):
    pass


COLUMNS = ", ".join(PortalMessage.model_fields)


async def inbox(request: web.Request) -> web.Response:
    """``GET /portal/customers/{id}/messages``: newest first."""
    customer_id = path_id(request, "id", "customer")
    limit, offset = page(request)
    pool = pool_of(request)
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM portal_messages WHERE customer_id = $1"
        " ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
        customer_id,
        limit,
        offset,
    )
    total = await pool.fetchval(
        "SELECT count(*) FROM portal_messages WHERE customer_id = $1", customer_id
    )
    items = [PortalMessage.model_validate(record_to_dict(r)) for r in rows]
    return json_response(PortalMessageList(items=items, total=total))


async def mark_read(request: web.Request) -> web.Response:
    """``POST /portal/customers/{id}/messages/{message_id}/read``."""
    customer_id = path_id(request, "id", "customer")
    message_id = path_id(request, "message_id", "portal message")
    row = await pool_of(request).fetchrow(
        "UPDATE portal_messages SET read_at = coalesce(read_at, now())"
        " WHERE customer_id = $1 AND id = $2"
        f" RETURNING {COLUMNS}",
        customer_id,
        message_id,
    )
    if row is None:
        raise Problem(404, f"no message {message_id} for customer {customer_id}")
    return json_response(PortalMessage.model_validate(record_to_dict(row)))


_OWN_CUSTOMER = Rule(OPERATOR, Scope.PATH, "customer")

ROUTES = tagged(
    "email and portal",
    Route("GET", "/portal/customers/{id}/messages", inbox, _OWN_CUSTOMER,
          "A customer's portal inbox, newest first", PortalMessageList, params=PAGE),
    Route("POST", "/portal/customers/{id}/messages/{message_id}/read", mark_read, _OWN_CUSTOMER,
          "Mark a message read", PortalMessage),
)  # fmt: skip
