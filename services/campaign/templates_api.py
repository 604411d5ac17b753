"""Template endpoints: ``/templates`` CRUD (the "Save as new" of the campaign form is a POST)."""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.campaign.problems import Problem, field_error, parse_body
from services.campaign.web import json_response, page, path_id, pool_of, renderer_of
from shared import templates
from shared.db import record_to_dict

COLUMNS = "id, title, description, channel, subject, body, created_at, updated_at"


class TemplateBody(BaseModel):
    """A message template."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=255)]
    description: Annotated[str, Field(max_length=2000)] = ""
    channel: Literal["sms", "email", "portal"]
    subject: Annotated[str, Field(max_length=1000)] = ""
    body: Annotated[str, Field(min_length=1, max_length=templates.MAX_SOURCE_LENGTH)]


async def _checked(request: web.Request, body: TemplateBody) -> TemplateBody:
    for field in ("subject", "body"):
        try:
            await renderer_of(request).check(getattr(body, field))
        except templates.TemplateProblem as exc:
            raise field_error(field, str(exc)) from None
    return body


def _template_id(request: web.Request) -> int:
    return path_id(request, "id", "template")


async def list_templates(request: web.Request) -> web.Response:
    """``GET /templates``; filter ``channel``."""
    limit, offset = page(request)
    channel = request.query.get("channel")
    if channel is not None and channel not in ("sms", "email", "portal"):
        raise field_error("channel", "must be one of: sms, email, portal")
    where, args = ("WHERE channel = $1", [channel]) if channel else ("", [])
    pool = pool_of(request)
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM templates {where} ORDER BY id LIMIT {limit} OFFSET {offset}",
        *args,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM templates {where}", *args)
    return json_response({"items": [record_to_dict(r) for r in rows], "total": total})


async def create(request: web.Request) -> web.Response:
    """``POST /templates``."""
    body = await _checked(request, await parse_body(request, TemplateBody))
    row = await pool_of(request).fetchrow(
        f"INSERT INTO templates (title, description, channel, subject, body)"
        f" VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}",
        body.title,
        body.description,
        body.channel,
        body.subject,
        body.body,
    )
    return json_response(record_to_dict(row), status=201)


async def get(request: web.Request) -> web.Response:
    """``GET /templates/{id}``."""
    row = await pool_of(request).fetchrow(
        f"SELECT {COLUMNS} FROM templates WHERE id = $1", _template_id(request)
    )
    if row is None:
        raise Problem(404, f"no template with id {request.match_info['id']}")
    return json_response(record_to_dict(row))


async def update(request: web.Request) -> web.Response:
    """``PUT /templates/{id}``: replace it."""
    template_id = _template_id(request)
    body = await _checked(request, await parse_body(request, TemplateBody))
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
    return json_response(record_to_dict(row))


async def delete(request: web.Request) -> web.Response:
    """``DELETE /templates/{id}`` (campaigns keep the text they were created with)."""
    template_id = _template_id(request)
    status = await pool_of(request).execute("DELETE FROM templates WHERE id = $1", template_id)
    if status != "DELETE 1":
        raise Problem(404, f"no template with id {template_id}")
    return web.Response(status=204)


def routes() -> list[web.RouteDef]:
    """The template routes."""
    return [
        web.get("/templates", list_templates),
        web.post("/templates", create),
        web.get("/templates/{id}", get),
        web.put("/templates/{id}", update),
        web.delete("/templates/{id}", delete),
    ]
