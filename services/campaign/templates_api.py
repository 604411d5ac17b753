"""Template endpoints: ``/templates`` CRUD (the "Save as new" of the campaign form is a POST)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.campaign.http.answers import Answer, Page
from services.campaign.http.params import PAGE, enum
from services.campaign.http.problems import Problem, field_error, parse_body
from services.campaign.http.routes import Param, Route, tagged
from services.campaign.http.rules import OPERATOR, Rule, Scope
from services.campaign.http.web import json_response, page, path_id, pool_of
from shared import templates
from shared.db import record_to_dict
from shared.models import Id
from shared.vocabulary import CHANNELS, Channel


class TemplateBody(BaseModel):
    """A message template."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=255)]
    description: Annotated[str, Field(max_length=2000)] = ""
    channel: Channel
    subject: Annotated[str, Field(max_length=1000)] = ""
    body: Annotated[str, Field(min_length=1, max_length=templates.MAX_SOURCE_LENGTH)]


class Template(TemplateBody, Answer):
    """A stored message template."""

    id: Id
    created_at: datetime
    updated_at: datetime


class TemplateList(Page[Template]):
    pass


COLUMNS = ", ".join(Template.model_fields)


def _checked(body: TemplateBody) -> TemplateBody:
    for field in ("subject", "body"):
        try:
            templates.check(getattr(body, field))
        except templates.TemplateProblem as exc:
            raise field_error(field, str(exc)) from None
    return body


def _template_id(request: web.Request) -> int:
    return path_id(request, "id", "template")


async def list_templates(request: web.Request) -> web.Response:
    """``GET /templates``; filter ``channel``."""
    limit, offset = page(request)
    channel = request.query.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise field_error("channel", f"must be one of: {', '.join(CHANNELS)}")
    where, args = ("WHERE channel = $1", [channel]) if channel else ("", [])
    pool = pool_of(request)
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM templates {where} ORDER BY id LIMIT {limit} OFFSET {offset}",
        *args,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM templates {where}", *args)
    return json_response(
        TemplateList(items=[Template.model_validate(record_to_dict(r)) for r in rows], total=total)
    )


async def create(request: web.Request) -> web.Response:
    """``POST /templates``."""
    body = _checked(await parse_body(request, TemplateBody))
    row = await pool_of(request).fetchrow(
        f"INSERT INTO templates (title, description, channel, subject, body)"
        f" VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}",
        body.title,
        body.description,
        body.channel,
        body.subject,
        body.body,
    )
    return json_response(Template.model_validate(record_to_dict(row)), status=201)


async def get(request: web.Request) -> web.Response:
    """``GET /templates/{id}``."""
    row = await pool_of(request).fetchrow(
        f"SELECT {COLUMNS} FROM templates WHERE id = $1", _template_id(request)
    )
    if row is None:
        raise Problem(404, f"no template with id {request.match_info['id']}")
    return json_response(Template.model_validate(record_to_dict(row)))


async def update(request: web.Request) -> web.Response:
    """``PUT /templates/{id}``: replace it."""
    template_id = _template_id(request)
    body = _checked(await parse_body(request, TemplateBody))
    row = await pool_of(request).fetchrow(
        f"UPDATE templates SET title = $2, description = $3, channel = $4, subject = $5,"
        f" body = $6, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}",
        template_id,
        body.title,
        body.description,
        body.channel,
        body.subject,
        body.body,
    )
    if row is None:
        raise Problem(404, f"no template with id {template_id}")
    return json_response(Template.model_validate(record_to_dict(row)))


async def delete(request: web.Request) -> web.Response:
    """``DELETE /templates/{id}`` (campaigns keep the text they were created with)."""
    template_id = _template_id(request)
    status = await pool_of(request).execute("DELETE FROM templates WHERE id = $1", template_id)
    if status != "DELETE 1":
        raise Problem(404, f"no template with id {template_id}")
    return web.Response(status=204)


# Templates are shared by every partner: partner tokens read them, but change them only once
# templates have a partner of their own.
ROUTES = tagged(
    "templates",
    Route("GET", "/templates", list_templates, Rule(OPERATOR), "List templates", TemplateList,
          params=(*PAGE, Param("channel", enum(CHANNELS)))),
    Route("POST", "/templates", create, Rule(OPERATOR, Scope.PENDING), "Create a template",
          Template, 201, body=TemplateBody),
    Route("GET", "/templates/{id}", get, Rule(OPERATOR), "One template", Template),
    Route("PUT", "/templates/{id}", update, Rule(OPERATOR, Scope.PENDING), "Replace a template",
          Template, body=TemplateBody),
    Route("DELETE", "/templates/{id}", delete, Rule(OPERATOR, Scope.PENDING),
          "Delete a template", None, 204),
)  # fmt: skip
