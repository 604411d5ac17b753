"""Reference names: ``PUT/GET /partners``, ``/locations``, ``/tariffs`` (id -> name).

The billing system's names for the ids people records carry (``partner_id``, ``location_id``,
``services[].tariff_id``), for the console's pick lists. Bulk upsert by id like the directory.
"""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import Field

from services.campaign.http import access
from services.campaign.http.answers import Answer, Page, UpsertResult
from services.campaign.http.params import PAGE
from services.campaign.http.problems import parse_array
from services.campaign.http.routes import PREFIX, Route, bulk_upsert, tagged
from services.campaign.http.rules import OPERATOR, Rule, Scope
from services.campaign.http.web import json_response, page, pool_of
from services.campaign.reference import repo
from shared.models import Id, Strict

MAX_BATCH = 10_000
COLLECTIONS: dict[str, repo.Kind] = {
    "partners": "partner",
    "locations": "location",
    "tariffs": "tariff",
}


class ReferenceName(Strict):
    """One id and its name."""

    id: Id
    name: Annotated[str, Field(min_length=1, max_length=255)]


class ReferenceEntry(Answer):
    """An id the directory uses or that has a name; ``name`` null until one is given."""

    id: Id
    name: str | None


class ReferenceList(Page[ReferenceEntry]):
    pass


def _kind(request: web.Request) -> repo.Kind:
    return COLLECTIONS[request.path.removeprefix(PREFIX + "/")]


async def upsert(request: web.Request) -> web.Response:
    """``PUT /partners`` (and locations, tariffs): insert or rename by id."""
    names = await parse_array(request, ReferenceName, MAX_BATCH)
    await repo.upsert_names(pool_of(request), _kind(request), [(n.id, n.name) for n in names])
    return json_response(UpsertResult(upserted=len(names)))


async def list_names(request: web.Request) -> web.Response:
    """``GET /partners``: every id with a name or used in the directory, in id order; a
    partner-scoped token sees only its own partner (locations and tariffs are shared)."""
    limit, offset = page(request)
    kind = _kind(request)
    only = access.partner_of(request) if kind == "partner" else None
    items, total = await repo.list_names(pool_of(request), kind, limit, offset, only)
    return json_response(ReferenceList.model_validate({"items": items, "total": total}))


def _routes(collection: str) -> tuple[Route, ...]:
    return (
        bulk_upsert(
            f"/{collection}",
            upsert,
            f"Insert or rename {collection} by id",
            ReferenceName,
            MAX_BATCH,
        ),
        Route(
            "GET",
            f"/{collection}",
            list_names,
            # Partners are narrowed to a scoped token's own partner by the handler.
            Rule(OPERATOR, Scope.HANDLER if collection == "partners" else Scope.NONE),
            f"List {collection} (id and name), by id",
            ReferenceList,
            params=PAGE,
        ),
    )


ROUTES = tagged("reference names", *(route for c in COLLECTIONS for route in _routes(c)))
