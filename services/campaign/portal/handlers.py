"""The customer portal inbox: what portal campaigns left for a customer."""

from __future__ import annotations

from aiohttp import web

from services.campaign.http import repo as http_repo
from services.campaign.http.params import PAGE
from services.campaign.http.problems import Problem
from services.campaign.http.routes import Route, tagged
from services.campaign.http.rules import OPERATOR, Rule, Scope
from services.campaign.http.web import json_response, page, path_id, pool_of
from services.campaign.portal import repo
from services.campaign.portal.models import PortalMessage, PortalMessageList


async def _customer(request: web.Request) -> int:
    """The path's customer; 404 when there is no such customer (its inbox fails closed: the
    messages of a removed customer, or of an id no one has, are nobody's to read)."""
    customer_id = path_id(request, "id", "customer")
    exists, _ = await http_repo.owner(pool_of(request), "customer", customer_id)
    if not exists:
        raise Problem(404, f"no customer with id {customer_id}")
    return customer_id


async def inbox(request: web.Request) -> web.Response:
    """``GET /portal/customers/{id}/messages``: newest first."""
    customer_id = await _customer(request)
    limit, offset = page(request)
    rows, total = await repo.inbox(pool_of(request), customer_id, limit, offset)
    return json_response(PortalMessageList.model_validate({"items": rows, "total": total}))


async def mark_read(request: web.Request) -> web.Response:
    """``POST /portal/customers/{id}/messages/{message_id}/read``."""
    customer_id = await _customer(request)
    message_id = path_id(request, "message_id", "portal message")
    row = await repo.mark_read(pool_of(request), customer_id, message_id)
    if row is None:
        raise Problem(404, f"no message {message_id} for customer {customer_id}")
    return json_response(PortalMessage.model_validate(row))


_OWN_CUSTOMER = Rule(OPERATOR, Scope.PATH, "customer")

ROUTES = tagged(
    "email and portal",
    Route("GET", "/portal/customers/{id}/messages", inbox, _OWN_CUSTOMER,
          "A customer's portal inbox, newest first", PortalMessageList, params=PAGE),
    Route("POST", "/portal/customers/{id}/messages/{message_id}/read", mark_read, _OWN_CUSTOMER,
          "Mark a message read", PortalMessage),
)  # fmt: skip
