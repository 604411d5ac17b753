"""History endpoints: the campaign list, its recipients, and what each one was sent."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from services.campaign.campaigns import domain, repo
from services.campaign.campaigns.answers import CampaignList, RecipientList, RecipientMessage
from services.campaign.campaigns.create import campaign_id_of
from services.campaign.http import access
from services.campaign.http.params import FROM, PAGE, TO, enum
from services.campaign.http.problems import Problem, field_error
from services.campaign.http.routes import Param, Route, tagged
from services.campaign.http.rules import VIEWER, Rule, Scope
from services.campaign.http.web import json_response, page, path_id, pool_of, query_time, state_of
from shared.periods import PERIODS, period_range
from shared.vocabulary import CAMPAIGN_STATUSES, MESSAGE_STATUSES


async def list_campaigns(request: web.Request) -> web.Response:
    """``GET /campaigns``: newest first; filters ``status`` and ``period`` (+ from/to)."""
    limit, offset = page(request)
    status = request.query.get("status") or None
    if status is not None and status not in CAMPAIGN_STATUSES:
        raise field_error("status", f"must be one of: {', '.join(CAMPAIGN_STATUSES)}")
    period = request.query.get("period") or None
    start, end = query_time(request, "from"), query_time(request, "to")
    if period is not None:
        if period not in PERIODS:
            raise field_error("period", f"must be one of: {', '.join(PERIODS)}")
        if period == "custom" and start is None and end is None:
            raise field_error("from", "a custom period needs from and/or to")
        zone = ZoneInfo(state_of(request).settings.timezone)
        start, end = period_range(period, datetime.now(UTC), zone, start, end)  # type: ignore[arg-type]
    items, total = await repo.list_campaigns(
        pool_of(request),
        status=status,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
        partner_id=access.partner_of(request),
    )
    return json_response(CampaignList(items=[domain.history_row(c) for c in items], total=total))


async def recipients(request: web.Request) -> web.Response:
    """``GET /campaigns/{id}/recipients``: one row per message, filter ``status``."""
    campaign_id = campaign_id_of(request)
    limit, offset = page(request)
    status = request.query.get("status") or None
    if status is not None and status not in MESSAGE_STATUSES:
        raise field_error("status", f"must be one of: {', '.join(MESSAGE_STATUSES)}")
    pool = pool_of(request)
    if await repo.get_campaign(pool, campaign_id) is None:
        raise Problem(404, f"no campaign with id {campaign_id}")
    items, total = await repo.recipients(pool, campaign_id, status, limit, offset)
    return json_response(RecipientList.model_validate({"items": items, "total": total}))


async def recipient_message(request: web.Request) -> web.Response:
    """``GET /campaigns/{id}/recipients/{customer_id}/message``: the rendered message."""
    campaign_id = campaign_id_of(request)
    customer_id = path_id(request, "customer_id", "recipient")
    messages = await repo.recipient_messages(pool_of(request), campaign_id, customer_id)
    if not messages:
        raise Problem(404, f"no recipient {customer_id} in campaign {campaign_id}")
    first = messages[0]
    return json_response(
        RecipientMessage.model_validate(
            {
                "campaign_id": campaign_id,
                "customer_id": customer_id,
                "subject": first["subject"],
                "message": first["text"],
                "messages": messages,
            }
        )
    )


CAMPAIGN_STATUS = Param("status", enum(CAMPAIGN_STATUSES), "removed: only when asked")
PERIOD = Param("period", enum(PERIODS), "custom: from and/or to")

ROUTES = tagged(
    "campaigns",
    Route("GET", "/campaigns", list_campaigns, Rule(VIEWER, Scope.HANDLER),
          "History, newest first", CampaignList,
          params=(*PAGE, CAMPAIGN_STATUS, PERIOD, FROM, TO)),
    Route("GET", "/campaigns/{id}/recipients", recipients, Rule(VIEWER, Scope.PATH, "campaign"),
          "One row per message", RecipientList,
          params=(*PAGE, Param("status", enum(MESSAGE_STATUSES)))),
    Route("GET", "/campaigns/{id}/recipients/{customer_id}/message", recipient_message,
          Rule(VIEWER, Scope.PATH, "campaign"), "What one recipient got", RecipientMessage),
)  # fmt: skip
