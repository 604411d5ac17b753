"""Campaign endpoints: create (idempotently) and read."""

from __future__ import annotations

import logging

from aiohttp import web

from services.campaign import domain, repo
from services.campaign.problems import Problem, field_error, parse_body
from services.campaign.web import json_response, pool_of, state_of
from shared import config_store, templates, topology
from shared.models import CampaignRequest
from shared.schemas import ResolveCampaign

log = logging.getLogger(__name__)


def _campaign_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise Problem(404, f"no campaign with id {raw}")
    return int(raw)


async def _message_of(request: web.Request, body: CampaignRequest) -> str:
    """The message source: inline text, or the template's body."""
    if body.message and body.message.strip():
        source, field = body.message, "message"
    else:
        template = await pool_of(request).fetchrow(
            "SELECT body, channel FROM templates WHERE id = $1", body.template_id
        )
        if template is None:
            raise field_error("template_id", f"no template with id {body.template_id}")
        source, field = template["body"], "template_id"
    try:
        templates.check(source)
    except templates.TemplateProblem as exc:
        raise field_error(field, str(exc)) from None
    return source


async def _check_channel(request: web.Request, body: CampaignRequest) -> None:
    if body.send_to != "sms":
        raise field_error("send_to", f"channel {body.send_to!r} is not available yet")
    if await config_store.load_sms(pool_of(request)) is None:
        raise field_error(
            "send_to", "the SMS gateway is not configured (PUT /api/v1/config/sms first)"
        )


async def _check_rendering(request: web.Request, body: CampaignRequest, source: str) -> None:
    """Render for the first matching recipient so unknown attributes fail now, not per row."""
    _, first = await repo.matching_people(
        pool_of(request), body.recipient_type, body.filters, limit=1
    )
    if not first:
        return
    context = {
        "customer": templates.person_context(first[0]),
        "company": await config_store.load_company(pool_of(request)),
        "campaign": {"id": None, "subject": body.subject},
    }
    try:
        templates.render(source, context)
    except templates.TemplateProblem as exc:
        field = "message" if body.message else "template_id"
        raise field_error(field, f"{exc} (for recipient {first[0]['id']})") from None


async def create(request: web.Request) -> web.Response:
    """``POST /campaigns``: validate, store, and queue the campaign for resolution."""
    body = await parse_body(request, CampaignRequest)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= domain.MAX_IDEMPOTENCY_KEY:
        raise field_error("Idempotency-Key", f"1 to {domain.MAX_IDEMPOTENCY_KEY} characters")
    data = body.model_dump(mode="json")
    fingerprint = domain.request_hash(data)
    pool = pool_of(request)
    if key is not None:
        existing = await repo.find_by_idempotency_key(pool, key)
        if existing is not None:
            return _replay(existing, fingerprint)
    source = await _message_of(request, body)
    await _check_channel(request, body)
    await _check_rendering(request, body, source)
    async with pool.acquire() as conn, conn.transaction():
        row = await repo.insert_campaign(
            conn, request=data, message=source, idempotency_key=key, request_hash=fingerprint
        )
        if row is not None:
            # Same transaction as the campaign: committed together or not at all.
            event = ResolveCampaign(campaign_id=row["id"]).model_dump_json().encode()
            await repo.add_outbox(conn, topology.RK_RESOLVE, event)
    if row is None:  # lost an idempotency race to a concurrent identical request
        existing = await repo.find_by_idempotency_key(pool, key or "")
        assert existing is not None
        return _replay(existing, fingerprint)
    state_of(request).outbox_wakeup.set()
    log.info("campaign %s created (%s)", row["id"], body.send_to)
    row["counts"] = {}
    return json_response(domain.campaign_view(row), status=202)


def _replay(existing: dict[str, object], fingerprint: str) -> web.Response:
    if existing.get("request_hash") != fingerprint:
        raise field_error(
            "Idempotency-Key", "this key was already used with a different request body"
        )
    return json_response(domain.campaign_view(existing), status=202)


async def get(request: web.Request) -> web.Response:
    """``GET /campaigns/{id}`` with counts of messages per status."""
    campaign = await repo.get_campaign(pool_of(request), _campaign_id(request))
    if campaign is None:
        raise Problem(404, f"no campaign with id {request.match_info['id']}")
    return json_response(domain.campaign_view(campaign))


def routes() -> list[web.RouteDef]:
    """The campaign routes."""
    return [
        web.post("/campaigns", create),
        web.get("/campaigns/{id}", get),
    ]
