"""The OpenAPI 3.1 document of the API, built from the route declarations (``http/routes.py``).

Request bodies and answers are the routes' pydantic models (``models_json_schema``: request
bodies as validated, answers as serialized), every one a component schema.
``GET /openapi.json`` serves the document.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from services.campaign.console import sessions
from services.campaign.http import problems, routes
from services.campaign.http import web as helpers
from services.campaign.http.answers import ProblemDetails
from services.campaign.http.params import ID
from services.campaign.http.routes import JSON, PREFIX, Route, Schema, tagged
from services.campaign.http.rules import PUBLIC, ROLES

SERVER_URL = PREFIX
# The document's tags, in this order; every route names one.
TAGS = (
    "directory",
    "reference names",
    "campaigns",
    "templates",
    "settings",
    "logs",
    "email and portal",
    "tokens",
    "callbacks",
    "operations",
)
REF = "#/components/schemas/{model}"


def ref(model: type[BaseModel]) -> Schema:
    """A reference to a model's component schema."""
    return {"$ref": REF.format(model=model.__name__)}


# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------

_PATH_PARAM = re.compile(r"\{(\w+)\}")
_DESCRIPTIONS = {204: "done, no content", 201: "created", 202: "accepted", 200: "OK"}


def _problem(status: int) -> Schema:
    return {"$ref": f"#/components/responses/Problem{status}"}


def _operation(op: Route) -> Schema:
    name = re.sub(r"\W+", "_", f"{op.method.lower()}{op.path}").strip("_")
    operation: Schema = {
        "operationId": name,
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        operation["description"] = op.description
    parameters = [
        {"name": p, "in": "path", "required": True, "schema": ID}
        for p in _PATH_PARAM.findall(op.path)
    ]
    parameters += [
        {"name": p.name, "in": p.where, "required": False, "schema": p.schema}
        | ({"description": p.description} if p.description else {})
        for p in op.params
    ]
    if parameters:
        operation["parameters"] = parameters
    errors = set(op.errors)
    if op.multipart:
        upload = {
            "type": "object",
            "properties": {"file": {"type": "string", "format": "binary"}},
            "required": ["file"],
        }
        operation["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": upload}},
        }
        errors |= {400, 413, 415, 422}
    if op.body is not None:
        body = ref(op.body)
        if op.many:
            body = {"type": "array", "maxItems": op.many, "items": body}
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
        errors |= {400, 413, 415, 422}
    if op.params:
        errors.add(422)
    if "{" in op.path:
        errors.add(404)
    if op.public:
        operation["security"] = []
    else:
        errors |= {401, 403}
        operation["x-herald-roles"] = [r for r in ROLES if r in op.rule.roles]
    if op.rate_limited:
        errors.add(429)
    success: Schema = {"description": _DESCRIPTIONS[op.status]}
    if op.answer is not None:
        success["content"] = {op.media_type: {"schema": ref(op.answer)}}
    elif op.status != 204:
        schema: Schema = {"type": "string"} if op.media_type != JSON else {"type": "object"}
        success["content"] = {op.media_type: {"schema": schema}}
    responses: Schema = {str(op.status): success}
    for status, answer, description in op.extra:
        responses[str(status)] = {
            "description": description,
            "content": {JSON: {"schema": ref(answer)}},
        }
    for status in sorted(errors):
        responses[str(status)] = _problem(status)
    responses["5XX"] = _problem(500)
    operation["responses"] = responses
    return operation


def _problem_responses(statuses: Iterable[int]) -> Schema:
    return {
        f"Problem{status}": {
            "description": problems._TITLES.get(status, "Error"),
            "content": {problems.CONTENT_TYPE: {"schema": ref(ProblemDetails)}},
        }
        for status in sorted(statuses)
    }


@functools.cache
def document(declared: tuple[Route, ...]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of an API serving ``routes`` (built once)."""
    unknown = {route.tag for route in declared} - set(TAGS)
    assert not unknown, f"routes tagged with tags the document does not list: {unknown}"
    bodies = {op.body for op in declared if op.body is not None}
    answers = {ProblemDetails} | {op.answer for op in declared if op.answer is not None}
    answers |= {model for op in declared for _, model, _ in op.extra}
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((m, "validation") for m in bodies),
        *((m, "serialization") for m in answers),
    ]
    wanted.sort(key=lambda pair: (pair[0].__name__, pair[1]))
    _, top = models_json_schema(wanted, ref_template=REF)
    schemas: dict[str, Schema] = dict(top.get("$defs", {}))

    paths: dict[str, dict[str, Schema]] = {}
    for op in declared:
        methods = paths.setdefault(op.path, {})
        assert op.method.lower() not in methods, f"twice: {op.method} {op.path}"
        methods[op.method.lower()] = _operation(op)
    used = {
        int(answer["$ref"].rpartition("Problem")[2])
        for methods in paths.values()
        for operation in methods.values()
        for answer in operation["responses"].values()
        if "$ref" in answer
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Herald API",
            "version": "1",
            "description": "Mass messaging (SMS, email, customer portal). Errors are"
            " application/problem+json; lists take limit and offset and answer"
            ' {"items": [...], "total": N}. /health, /ready and /metrics are also served'
            " at the root, for probes.",
        },
        "servers": [{"url": SERVER_URL}],
        "security": [{"bearer": []}, {"console": []}],
        "tags": [{"name": tag} for tag in TAGS if any(op.tag == tag for op in declared)],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "responses": _problem_responses(used),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "HERALD_API_TOKEN (the bootstrap admin token) or a"
                    " token made with POST /tokens",
                },
                "console": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": sessions.COOKIE,
                    "description": "The operator console's session (sign in at /signin with an"
                    " API token): it acts as that token. Requests other than GET also need the"
                    " header X-CSRF-Token (the session's) and an Origin of the console.",
                },
            },
        },
    }


async def openapi_json(request: web.Request) -> web.Response:
    """``GET /openapi.json``: this API's OpenAPI 3.1 document."""
    return helpers.json_response(document(request.app[routes.ROUTES]))


ROUTES = tagged(
    "operations",
    Route("GET", "/openapi.json", openapi_json, PUBLIC, "This document", None),
)
