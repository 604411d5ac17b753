"""Composing a campaign's message: template lookup, checks, and rendering for a preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from services.campaign import repo
from services.campaign.problems import Problem, field_error
from services.campaign.web import pool_of
from shared import config_store, templates
from shared.models import CampaignRequest, SmsConfig
from shared.sms import segment

# Recipients rendered (and checked for length) before a campaign is accepted; the resolver
# checks every other one and logs an error row for any that would be too long.
CHECKED_RECIPIENTS = 100


@dataclass
class Composed:
    """A validated campaign body: its message source, matching people and a rendering."""

    source: str
    source_field: str
    total: int
    people: list[dict[str, Any]]
    rendered: str | None
    sms: SmsConfig | None


async def message_source(request: web.Request, body: CampaignRequest) -> tuple[str, str]:
    """The message template and the field it came from (inline text or template_id)."""
    if body.message and body.message.strip():
        source, field = body.message, "message"
    else:
        template = await pool_of(request).fetchrow(
            "SELECT body FROM templates WHERE id = $1", body.template_id
        )
        if template is None:
            raise field_error("template_id", f"no template with id {body.template_id}")
        source, field = template["body"], "template_id"
    try:
        templates.check(source)
    except templates.TemplateProblem as exc:
        raise field_error(field, str(exc)) from None
    return source, field


async def channel_config(request: web.Request, body: CampaignRequest) -> SmsConfig | None:
    """The gateway settings the campaign needs, or a 422 naming send_to."""
    if body.send_to != "sms":
        raise field_error("send_to", f"channel {body.send_to!r} is not available yet")
    config = await config_store.load_sms(pool_of(request))
    if config is None:
        raise field_error(
            "send_to", "the SMS gateway is not configured (PUT /api/v1/config/sms first)"
        )
    return config


async def context(request: web.Request, body: CampaignRequest) -> dict[str, Any]:
    """Template variables other than ``customer``."""
    return {
        "company": await config_store.load_company(pool_of(request)),
        "campaign": {"id": None, "subject": body.subject},
    }


async def compose(request: web.Request, body: CampaignRequest, page_size: int) -> Composed:
    """Validate a campaign body and render it for the first matching people."""
    source, field = await message_source(request, body)
    config = await channel_config(request, body)
    total, people = await repo.matching_people(
        pool_of(request), body.recipient_type, body.filters, max(page_size, CHECKED_RECIPIENTS)
    )
    variables = await context(request, body)
    rendered: str | None = None
    too_long: list[str] = []
    for person in people[:CHECKED_RECIPIENTS]:
        try:
            text = templates.render(
                source, {**variables, "customer": templates.person_context(person)}
            )
        except templates.TemplateProblem as exc:
            raise field_error(field, f"{exc} (for recipient {person['id']})") from None
        if rendered is None:
            rendered = text
        if config is not None and not templates.is_ignored(text):
            parts = segment(text).parts
            if parts > config.max_parts:
                too_long.append(f"recipient {person['id']} needs {parts} parts")
    if too_long:
        assert config is not None
        raise Problem(
            422,
            f"the message is longer than max_parts={config.max_parts} SMS parts for "
            + ", ".join(too_long[:10]),
            errors=[{"field": field, "message": m} for m in too_long],
            kind="message-too-long",
        )
    return Composed(source, field, total, people[:page_size], rendered, config)
