"""Composing a campaign's message: template lookup, checks, and rendering for a preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from services.campaign.campaigns import domain
from services.campaign.directory import repo as directory_repo
from services.campaign.files import repo as files_repo
from services.campaign.http.access import partner_of
from services.campaign.http.problems import Problem, field_error
from services.campaign.http.web import pool_of, renderer_of
from services.campaign.templates import repo as templates_repo
from shared import config_store, templates
from shared.models import CampaignRequest, SmsConfig

# Recipients rendered (and checked for length) before a campaign is accepted; the resolver
# checks every other one and logs an error row for any that would be too long.
CHECKED_RECIPIENTS = 100


@dataclass
class Composed:
    """A validated campaign body: its templates, matching people and a rendering."""

    source: str
    subject_source: str
    total: int
    people: list[dict[str, Any]]
    rendered: str | None
    subject: str | None
    sms: SmsConfig | None
    attachments: list[dict[str, Any]] = field(default_factory=list)


async def message_source(request: web.Request, body: CampaignRequest) -> tuple[str, str, str]:
    """(message template, the field it came from, subject template)."""
    subject = body.subject
    if body.message and body.message.strip():
        source, where = body.message, "message"
    else:
        template = await templates_repo.source(pool_of(request), body.template_id)
        if template is None:
            raise field_error("template_id", f"no template with id {body.template_id}")
        (source, stored_subject), where = template, "template_id"
        subject = subject or stored_subject
    for text, name in ((source, where), (subject, "subject")):
        try:
            await renderer_of(request).check(text)
        except templates.TemplateProblem as exc:
            raise field_error(name, str(exc)) from None
    return source, where, subject


async def channel_config(request: web.Request, body: CampaignRequest) -> SmsConfig | None:
    """The SMS settings when the campaign needs them; a 422 naming send_to when a channel
    it needs is not configured."""
    pool = pool_of(request)
    if body.send_to in ("email", "portal_email") and await config_store.load_email(pool) is None:
        raise field_error(
            "send_to", "the email server is not configured (PUT /api/v1/config/email first)"
        )
    if body.send_to != "sms":
        return None
    config = await config_store.load_sms(pool)
    if config is None:
        raise field_error(
            "send_to", "the SMS gateway is not configured (PUT /api/v1/config/sms first)"
        )
    return config


async def attachments_of(request: web.Request, body: CampaignRequest) -> list[dict[str, Any]]:
    """The campaign's uploaded attachments (a 422 naming any unknown id)."""
    if not body.attachments:
        return []
    if body.send_to not in ("email", "portal_email"):
        raise field_error("attachments", "only emails carry attachments")
    rows = await files_repo.attachments(pool_of(request), body.attachments, partner_of(request))
    missing = set(body.attachments) - {r["id"] for r in rows}
    if missing:
        raise field_error("attachments", f"no attachment with id {', '.join(map(str, missing))}")
    return rows


async def context(request: web.Request, body: CampaignRequest) -> dict[str, Any]:
    """Template variables other than ``customer``."""
    return {
        "company": await config_store.load_company(pool_of(request)),
        "campaign": {"id": None, "subject": body.subject},
    }


async def compose(request: web.Request, body: CampaignRequest, page_size: int) -> Composed:
    """Validate a campaign body and render it for the first matching people."""
    source, where, subject_source = await message_source(request, body)
    config = await channel_config(request, body)
    attachments = await attachments_of(request, body)
    total, people = await directory_repo.matching_people(
        pool_of(request), body.recipient_type, body.filters, max(page_size, CHECKED_RECIPIENTS)
    )
    variables = await context(request, body)
    checked = people[:CHECKED_RECIPIENTS]
    try:  # in a worker, under its limits; stopped there (RenderAborted): a 422 too
        renderings = await renderer_of(request).call(
            domain.render_each,
            checked,
            source,
            subject_source,
            variables,
            html=body.send_to != "sms",
        )
    except (domain.RecipientProblem, templates.TemplateProblem) as exc:
        raise field_error(where, str(exc)) from None
    rendering = domain.check_renderings(
        checked, renderings, config.max_parts if config is not None else None
    )
    if rendering.too_long:
        assert config is not None
        raise Problem(
            422,
            f"the message is longer than max_parts={config.max_parts} SMS parts for "
            + ", ".join(rendering.too_long[:10]),
            errors=[{"field": where, "message": m} for m in rendering.too_long],
            kind="message-too-long",
        )
    return Composed(
        source,
        subject_source,
        total,
        people[:page_size],
        rendering.text,
        rendering.subject,
        config,
        attachments,
    )
