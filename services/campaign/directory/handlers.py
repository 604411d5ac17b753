"""Directory endpoints: bulk upsert, list, read and delete customers and leads."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from services.campaign.directory import repo
from services.campaign.http import access
from services.campaign.http.answers import Answer, Page, UpsertResult
from services.campaign.http.params import PAGE, STRING
from services.campaign.http.problems import Problem, parse_array
from services.campaign.http.routes import PREFIX, Param, Route, bulk_upsert, tagged
from services.campaign.http.rules import ADMIN, OPERATOR, Rule, Scope, Subject
from services.campaign.http.web import json_response, page, path_id, pool_of

MAX_BATCH = 10_000
SEARCH = Param("search", STRING, "in login, full name, email or phone")


class PersonRecord(repo.Person, Answer):
    """A customer or lead record, as the billing system sent it."""

    updated_at: datetime


class PersonList(Page[PersonRecord]):
    pass


def _kind(request: web.Request) -> repo.RecipientType:
    return "lead" if request.path.startswith(PREFIX + "/leads") else "customer"


def _person_id(request: web.Request) -> int:
    return path_id(request, "id", "person")


async def upsert(request: web.Request) -> web.Response:
    """``PUT /customers`` and ``PUT /leads``: insert or replace records by id."""
    people = await parse_array(request, repo.Person, MAX_BATCH)
    await repo.upsert_people(pool_of(request), _kind(request), people)
    return json_response(UpsertResult(upserted=len(people)))


async def list_people(request: web.Request) -> web.Response:
    """``GET /customers``: a page of records in id order; ``search`` in login, name, email
    or phone."""
    limit, offset = page(request)
    search = request.query.get("search", "").strip()[:255] or None
    items, total = await repo.list_people(
        pool_of(request), _kind(request), limit, offset, access.partner_of(request), search
    )
    return json_response(PersonList.model_validate({"items": items, "total": total}))


async def get_person(request: web.Request) -> web.Response:
    """``GET /customers/{id}``."""
    person = await repo.get_person(pool_of(request), _kind(request), _person_id(request))
    if person is None:
        raise Problem(404, f"no {_kind(request)} with id {request.match_info['id']}")
    return json_response(PersonRecord.model_validate(person))


async def delete_person(request: web.Request) -> web.Response:
    """``DELETE /customers/{id}``; messages already logged keep their rows."""
    if not await repo.delete_person(pool_of(request), _kind(request), _person_id(request)):
        raise Problem(404, f"no {_kind(request)} with id {request.match_info['id']}")
    return web.Response(status=204)


def _routes(collection: str, kind: Subject) -> tuple[Route, ...]:
    return (
        bulk_upsert(
            f"/{collection}",
            upsert,
            f"Insert or replace {collection} by id",
            repo.Person,
            MAX_BATCH,
        ),
        Route(
            "GET",
            f"/{collection}",
            list_people,
            Rule(OPERATOR, Scope.HANDLER),
            f"List {collection}, by id",
            PersonList,
            params=(*PAGE, SEARCH),
        ),
        Route(
            "GET",
            f"/{collection}/{{id}}",
            get_person,
            Rule(OPERATOR, Scope.PATH, kind),
            f"One {kind}",
            PersonRecord,
        ),
        Route(
            "DELETE",
            f"/{collection}/{{id}}",
            delete_person,
            Rule(ADMIN, Scope.PATH, kind),
            f"Delete a {kind}",
            None,
            204,
        ),
    )


ROUTES = tagged("directory", *_routes("customers", "customer"), *_routes("leads", "lead"))
