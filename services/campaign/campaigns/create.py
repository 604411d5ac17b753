"""Campaign endpoints: preview, send as test, create (idempotently) and read."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import Field, field_validator

from services.campaign.campaigns import domain, repo
from services.campaign.campaigns.answers import Campaign, Preview, TestQueued
from services.campaign.campaigns.compose import compose
from services.campaign.http import access
from services.campaign.http.params import LIMIT
from services.campaign.http.problems import Problem, field_error, parse_body
from services.campaign.http.routes import CAMPAIGN_BODY_BYTES, Param, Route, tagged
from services.campaign.http.rules import OPERATOR, VIEWER, Rule, Scope
from services.campaign.http.web import json_response, path_id, pool_of, query_int, state_of
from services.campaign.outbox import repo as outbox_repo
from shared import config_store, ledger, phones, topology
from shared.models import CampaignRequest
from shared.schemas import DeliveryJob, ResolveCampaign, SmsJob
from shared.sms import segment

log = logging.getLogger(__name__)


C = TypeVar("C", bound=CampaignRequest)


class TestRequest(CampaignRequest):
    """A campaign body plus where the single test message goes."""

    test_to: Annotated[str, Field(min_length=3, max_length=255)]

    @field_validator("test_to")
    @classmethod
    def _one_destination(cls, value: str) -> str:
        # One test message reaches one destination: a list would fan a "test" out to many.
        if any(c in value for c in ",;\r\n\t"):
            raise ValueError("one address or one number (no lists)")
        return value.strip()


def campaign_id_of(request: web.Request) -> int:
    """The ``{id}`` of the path, or a 404."""
    return path_id(request, "id", "campaign")


async def scoped_body(request: web.Request, model: type[C]) -> C:
    """The campaign body, its filters narrowed to the token's partner (if it has one)."""
    body = await parse_body(request, model)
    filters = access.scope_filters(access.principal_of(request), body.filters)
    return body.model_copy(update={"filters": filters})


async def preview(request: web.Request) -> web.Response:
    """``POST /campaigns/preview``: who would get it, and what the first one would read."""
    body = await scoped_body(request, CampaignRequest)
    limit = query_int(request, "limit", 50, 1, 1000)
    composed = await compose(request, body, limit)
    answer: dict[str, Any] = {
        "recipients_total": composed.total,
        "recipients": composed.people,
        "message": composed.rendered,
        "subject": composed.subject if composed.subject is not None else body.subject,
        "attachments": composed.attachments,
    }
    if body.send_to == "sms" and composed.rendered is not None:
        parts = segment(composed.rendered)
        answer.update(encoding=parts.encoding, characters=parts.characters, parts=parts.parts)
    return json_response(Preview.model_validate(answer))


async def send_test(request: web.Request) -> web.Response:
    """``POST /campaigns/test``: one message to ``test_to`` (a phone number for SMS, an
    address for email), rendered for the first match. It goes through the senders' test
    lanes, which never wait behind a mass campaign."""
    body = await scoped_body(request, TestRequest)
    if body.send_to == "portal":
        raise field_error("send_to", "test sends go by SMS or email")
    composed = await compose(request, body, 1)
    if not composed.people or composed.rendered is None:
        raise field_error("filters", "no recipient matches: nothing to render the test for")
    job: SmsJob | DeliveryJob
    pool = pool_of(request)
    if body.send_to == "sms":
        number = phones.normalise(body.test_to, state_of(request).settings.default_region)
        if number.e164 is None:
            raise field_error("test_to", number.error or "invalid phone number")
        assert composed.sms is not None
        to, channel, lane, expiry_days = (
            number.e164,
            "sms",
            topology.SMS_TEST,
            composed.sms.expiry_days,
        )
    else:
        if body.test_to.count("@") != 1 or any(c in body.test_to for c in " <>\"'()"):
            raise field_error("test_to", "not an email address")
        email = await config_store.load_email(pool)
        assert email is not None
        to, channel, lane, expiry_days = (
            body.test_to.strip(),
            "email",
            topology.EMAIL_TEST,
            email.expiry_days,
        )
    expires_at = datetime.now(UTC) + timedelta(days=expiry_days)
    async with pool.acquire() as conn, conn.transaction():
        message_id = await ledger.insert_test_message(
            conn,
            channel=channel,
            recipient_kind=body.recipient_type,
            customer_id=composed.people[0]["id"],
            recipient=to,
            subject=composed.subject or "",
            text=composed.rendered,
            attachments=[a["id"] for a in composed.attachments],
            expires_at=expires_at,
        )
        if channel == "sms":
            job = SmsJob(
                message_id=message_id, to=to, text=composed.rendered, expires_at=expires_at
            )
        else:
            job = DeliveryJob(message_id=message_id, channel="email", to=to, expires_at=expires_at)
        await outbox_repo.add_outbox(conn, lane.routing_key, job.model_dump_json().encode())
    state_of(request).outbox_wakeup.set()
    return json_response(
        TestQueued(message_id=message_id, to=to, message=composed.rendered), status=202
    )


async def create(request: web.Request) -> web.Response:
    """``POST /campaigns``: validate, store, and queue the campaign for resolution."""
    body = await scoped_body(request, CampaignRequest)
    partner_ids = body.filters.partner_ids or []
    partner_id = access.partner_of(request) or (partner_ids[0] if len(partner_ids) == 1 else None)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= domain.MAX_IDEMPOTENCY_KEY:
        raise field_error("Idempotency-Key", f"1 to {domain.MAX_IDEMPOTENCY_KEY} characters")
    data = body.model_dump(mode="json")
    fingerprint = domain.request_hash(data)
    pool = pool_of(request)
    if key is not None:
        existing = await repo.find_by_idempotency_key(pool, key)
        if existing is not None:
            return await _replay(request, existing, fingerprint)
    composed = await compose(request, body, 0)
    async with pool.acquire() as conn, conn.transaction():
        row = await repo.insert_campaign(
            conn,
            request={**data, "subject": composed.subject_source},
            message=composed.source,
            idempotency_key=key,
            request_hash=fingerprint,
            partner_id=partner_id,
        )
        if row is not None:
            # Same transaction as the campaign: committed together or not at all.
            event = ResolveCampaign(campaign_id=row["id"]).model_dump_json().encode()
            await outbox_repo.add_outbox(conn, topology.RK_RESOLVE, event)
    if row is None:  # lost an idempotency race to a concurrent identical request
        existing = await repo.find_by_idempotency_key(pool, key or "")
        assert existing is not None
        return await _replay(request, existing, fingerprint)
    state_of(request).outbox_wakeup.set()
    log.info("campaign %s created (%s)", row["id"], body.send_to)
    row["counts"] = {}
    return json_response(domain.campaign_view(row), status=202)


async def _replay(
    request: web.Request, existing: dict[str, object], fingerprint: str
) -> web.Response:
    scoped = access.partner_of(request)
    if existing.get("request_hash") != fingerprint or (
        scoped is not None and existing.get("partner_id") != scoped
    ):
        raise field_error(
            "Idempotency-Key", "this key was already used with a different request body"
        )
    campaign = await repo.get_campaign(pool_of(request), int(str(existing["id"])))
    assert campaign is not None
    return json_response(domain.campaign_view(campaign), status=202)


async def get(request: web.Request) -> web.Response:
    """``GET /campaigns/{id}`` with counts of messages per status."""
    campaign = await repo.get_campaign(pool_of(request), campaign_id_of(request))
    if campaign is None:
        raise Problem(404, f"no campaign with id {request.match_info['id']}")
    return json_response(domain.campaign_view(campaign))


IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": domain.MAX_IDEMPOTENCY_KEY},
    "the same key returns the same campaign; reused with another body: 422",
    "header",
)

ROUTES = tagged(
    "campaigns",
    Route("POST", "/campaigns/preview", preview, Rule(OPERATOR, Scope.HANDLER),
          "Who would get it, and the first one's message", Preview, body=CampaignRequest,
          params=(Param("limit", LIMIT.schema, "recipients listed"),),
          body_cap=CAMPAIGN_BODY_BYTES, rate_limit="previews"),
    Route("POST", "/campaigns/test", send_test, Rule(OPERATOR, Scope.HANDLER),
          "Send one test message (first recipient's rendering)", TestQueued, 202,
          body=TestRequest, body_cap=CAMPAIGN_BODY_BYTES, rate_limit="campaigns"),
    Route("POST", "/campaigns", create, Rule(OPERATOR, Scope.HANDLER), "Create a campaign",
          Campaign, 202, body=CampaignRequest, params=(IDEMPOTENCY_KEY,),
          body_cap=CAMPAIGN_BODY_BYTES, rate_limit="campaigns"),
    Route("GET", "/campaigns/{id}", get, Rule(VIEWER, Scope.PATH, "campaign"),
          "A campaign with its counts per status", Campaign),
)  # fmt: skip
