"""Directory endpoints: bulk upsert, list, read and delete customers and leads."""

from __future__ import annotations

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from services.campaign import repo
from services.campaign.problems import Problem, field_error, from_validation, read_json
from services.campaign.web import json_response, page, pool_of

MAX_BATCH = 10_000
_BATCH = TypeAdapter(list[repo.Person])


def _kind(request: web.Request) -> repo.RecipientType:
    return "lead" if request.match_info["collection"] == "leads" else "customer"


def _person_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise field_error("id", "must be a positive integer", status=404)
    return int(raw)


async def upsert(request: web.Request) -> web.Response:
    """``PUT /customers`` and ``PUT /leads``: insert or replace records by id."""
    data = await read_json(request)
    if not isinstance(data, list):
        raise field_error("body", "expected a JSON array of records")
    if len(data) > MAX_BATCH:
        raise field_error("body", f"at most {MAX_BATCH} records per call, got {len(data)}")
    try:
        people = _BATCH.validate_python(data)
    except ValidationError as exc:
        raise from_validation(exc) from None
    ids = [p.id for p in people]
    if len(set(ids)) != len(ids):
        raise field_error("body", "the same id appears twice in one call")
    await repo.upsert_people(pool_of(request), _kind(request), people)
    return json_response({"upserted": len(people)})


async def list_people(request: web.Request) -> web.Response:
    """``GET /customers``: a page of records in id order."""
    limit, offset = page(request)
    items, total = await repo.list_people(pool_of(request), _kind(request), limit, offset)
    return json_response({"items": items, "total": total})


async def get_person(request: web.Request) -> web.Response:
    """``GET /customers/{id}``."""
    person = await repo.get_person(pool_of(request), _kind(request), _person_id(request))
    if person is None:
        raise Problem(404, f"no {_kind(request)} with id {request.match_info['id']}")
    return json_response(person)


async def delete_person(request: web.Request) -> web.Response:
    """``DELETE /customers/{id}``; messages already logged keep their rows."""
    if not await repo.delete_person(pool_of(request), _kind(request), _person_id(request)):
        raise Problem(404, f"no {_kind(request)} with id {request.match_info['id']}")
    return web.Response(status=204)


def routes() -> list[web.RouteDef]:
    """The directory's routes, for customers and for leads."""
    collection = "{collection:customers|leads}"
    return [
        web.put(f"/{collection}", upsert),
        web.get(f"/{collection}", list_people),
        web.get(f"/{collection}/{{id}}", get_person),
        web.delete(f"/{collection}/{{id}}", delete_person),
    ]
