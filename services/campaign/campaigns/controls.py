"""The operator's controls over a campaign: cancel, remove, pause, resume.

Which status each may start from is the campaign state machine of ``shared/vocabulary.py``
(``CAMPAIGN_MOVES``); pausing a paused campaign and removing a removed one change nothing.
"""

from __future__ import annotations

from aiohttp import web

from services.campaign.campaigns import domain, repo
from services.campaign.campaigns.answers import Campaign
from services.campaign.campaigns.create import campaign_id_of
from services.campaign.http.problems import Problem
from services.campaign.http.routes import Route, tagged
from services.campaign.http.rules import OPERATOR, Rule, Scope
from services.campaign.http.web import json_response, pool_of, state_of
from services.campaign.outbox import repo as outbox_repo
from shared import topology
from shared.db import Connection
from shared.schemas import ResolveCampaign
from shared.vocabulary import CampaignStatus, may


async def _answer(request: web.Request, campaign_id: int) -> web.Response:
    campaign = await repo.get_campaign(pool_of(request), campaign_id)
    assert campaign is not None
    return json_response(domain.campaign_view(campaign))


def _missing(campaign_id: int) -> Problem:
    return Problem(404, f"no campaign with id {campaign_id}")


async def _locked_status(conn: Connection, campaign_id: int) -> CampaignStatus:
    status = await repo.lock_status(conn, campaign_id)
    if status is None:
        raise _missing(campaign_id)
    return status


async def cancel(request: web.Request) -> web.Response:
    """``POST /campaigns/{id}/cancel``: nothing not yet handed to the gateway goes out."""
    campaign_id = campaign_id_of(request)
    async with pool_of(request).acquire() as conn, conn.transaction():
        status = await _locked_status(conn, campaign_id)
        if not may("cancel", status):
            raise Problem(409, f"campaign {campaign_id} is already {status}", kind="conflict")
        await repo.cancel(conn, campaign_id, remove=False)
    return await _answer(request, campaign_id)


async def remove(request: web.Request) -> web.Response:
    """``DELETE /campaigns/{id}``: mark it removed (stopping it if it still runs)."""
    campaign_id = campaign_id_of(request)
    async with pool_of(request).acquire() as conn, conn.transaction():
        previous = await repo.cancel(conn, campaign_id, remove=True)
    if previous is None:
        raise _missing(campaign_id)
    return await _answer(request, campaign_id)


async def pause(request: web.Request) -> web.Response:
    """``POST /campaigns/{id}/pause``: senders hold its messages until it is resumed."""
    campaign_id = campaign_id_of(request)
    async with pool_of(request).acquire() as conn, conn.transaction():
        status = await _locked_status(conn, campaign_id)
        if status != "paused":
            if not may("pause", status):
                raise Problem(409, f"campaign {campaign_id} is {status}: cannot pause")
            await repo.set_status(conn, campaign_id, "paused")
    return await _answer(request, campaign_id)


async def resume(request: web.Request) -> web.Response:
    """``POST /campaigns/{id}/resume``: publish its held messages again and go on."""
    campaign_id = campaign_id_of(request)
    async with pool_of(request).acquire() as conn, conn.transaction():
        status = await _locked_status(conn, campaign_id)
        if not may("resume", status):
            raise Problem(409, f"campaign {campaign_id} is {status}, not paused")
        await repo.set_status(conn, campaign_id, "processing")
        event = ResolveCampaign(campaign_id=campaign_id, republish=True)
        await outbox_repo.add_outbox(conn, topology.RK_RESOLVE, event.model_dump_json().encode())
        await repo.close_if_done(conn, campaign_id)
    state_of(request).outbox_wakeup.set()
    return await _answer(request, campaign_id)


_OWN_CAMPAIGN = Rule(OPERATOR, Scope.PATH, "campaign")

ROUTES = tagged(
    "campaigns",
    Route("POST", "/campaigns/{id}/cancel", cancel, _OWN_CAMPAIGN, "Stop what is not sent yet",
          Campaign, errors=(409,)),
    Route("DELETE", "/campaigns/{id}", remove, _OWN_CAMPAIGN, "Remove it (hidden from history)",
          Campaign),
    Route("POST", "/campaigns/{id}/pause", pause, _OWN_CAMPAIGN, "Hold its messages",
          Campaign, errors=(409,)),
    Route("POST", "/campaigns/{id}/resume", resume, _OWN_CAMPAIGN, "Go on after a pause",
          Campaign, errors=(409,)),
)  # fmt: skip
