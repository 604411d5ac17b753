"""Template endpoints: ``/templates`` CRUD (the "Save as new" of the campaign form is a POST)."""

from __future__ import annotations

from aiohttp import web

from services.campaign.audit import handlers as audit
from services.campaign.http.params import PAGE, enum
from services.campaign.http.problems import Problem, field_error, parse_body
from services.campaign.http.routes import Param, Route, tagged
from services.campaign.http.rules import OPERATOR, Rule, Scope
from services.campaign.http.web import json_response, page, path_id, pool_of, renderer_of
from services.campaign.templates import repo
from services.campaign.templates.models import Template, TemplateBody, TemplateList
from shared import templates
from shared.vocabulary import CHANNELS


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
    if channel is not None and channel not in CHANNELS:
        raise field_error("channel", f"must be one of: {', '.join(CHANNELS)}")
    rows, total = await repo.list_templates(pool_of(request), channel, limit, offset)
    return json_response(TemplateList.model_validate({"items": rows, "total": total}))


async def create(request: web.Request) -> web.Response:
    """``POST /templates``."""
    body = await _checked(request, await parse_body(request, TemplateBody))
    async with audit.change(request, "template", "create") as change:
        row = await repo.insert(change.conn, body)
        change.object_id = str(row["id"])
    return json_response(Template.model_validate(row), status=201)


async def get(request: web.Request) -> web.Response:
    """``GET /templates/{id}``."""
    row = await repo.get(pool_of(request), _template_id(request))
    if row is None:
        raise Problem(404, f"no template with id {request.match_info['id']}")
    return json_response(Template.model_validate(row))


async def update(request: web.Request) -> web.Response:
    """``PUT /templates/{id}``: replace it."""
    template_id = _template_id(request)
    body = await _checked(request, await parse_body(request, TemplateBody))
    async with audit.change(request, "template", "update", template_id) as change:
        row = await repo.update(change.conn, template_id, body)
        if row is None:
            raise Problem(404, f"no template with id {template_id}")
    return json_response(Template.model_validate(row))


async def delete(request: web.Request) -> web.Response:
    """``DELETE /templates/{id}`` (campaigns keep the text they were created with)."""
    template_id = _template_id(request)
    async with audit.change(request, "template", "delete", template_id) as change:
        if not await repo.delete(change.conn, template_id):
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
