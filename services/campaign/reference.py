"""Reference names: ``PUT/GET /partners``, ``/locations``, ``/tariffs`` (id -> name).

The billing system's names for the ids people records carry (``partner_id``, ``location_id``,
``services[].tariff_id``), for the console's pick lists. Bulk upsert by id like the directory.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from services.campaign import access
from services.campaign.problems import parse_array
from services.campaign.web import json_response, page, pool_of
from shared.models import Id, Strict

MAX_BATCH = 10_000
Kind = Literal["partner", "location", "tariff"]
COLLECTIONS: dict[str, Kind] = {"partners": "partner", "locations": "location", "tariffs": "tariff"}


class ReferenceName(Strict):
    """One id and its name."""

    id: Id
    name: Annotated[str, Field(min_length=1, max_length=255)]


def _kind(request: web.Request) -> Kind:
    return COLLECTIONS[request.match_info["collection"]]


async def upsert(request: web.Request) -> web.Response:
    """``PUT /partners`` (and locations, tariffs): insert or rename by id."""
    names = await parse_array(request, ReferenceName, MAX_BATCH)
    await pool_of(request).execute(
        "INSERT INTO reference_names (kind, id, name)"
        " SELECT $1, i.id, i.name FROM unnest($2::bigint[], $3::text[]) AS i(id, name)"
        " ON CONFLICT (kind, id) DO UPDATE SET name = EXCLUDED.name",
        _kind(request),
        [n.id for n in names],
        [n.name for n in names],
    )
    return json_response({"upserted": len(names)})


# The ids the directory uses, from the small table of distinct filter combinations.
_USED: dict[Kind, str] = {
    "partner": "SELECT DISTINCT partner_id FROM people_counts WHERE members > 0",
    "location": "SELECT DISTINCT location_id FROM people_counts WHERE members > 0",
    "tariff": "SELECT DISTINCT unnest(tariff_ids) FROM people_counts WHERE members > 0",
}


async def list_names(request: web.Request) -> web.Response:
    """``GET /partners``: every id with a name or used in the directory (name null when it
    has none yet), in id order; a partner-scoped token sees only its partner."""
    limit, offset = page(request)
    kind = _kind(request)
    # Locations and tariffs are shared; partners are narrowed to the token's own.
    condition, args = (
        access.partner_condition(access.principal_of(request), "id", 2)
        if kind == "partner"
        else ("true", [])
    )
    rows_sql = (
        f"SELECT coalesce(r.id, u.id) AS id, r.name FROM"
        f" (SELECT id, name FROM reference_names WHERE kind = $1) r"
        f" FULL JOIN ({_USED[kind]}) AS u(id) ON u.id = r.id"
    )
    where = f"id IS NOT NULL AND {condition}"
    pool = pool_of(request)
    rows = await pool.fetch(
        f"SELECT id, name FROM ({rows_sql}) n WHERE {where} ORDER BY id"
        f" LIMIT {limit} OFFSET {offset}",
        kind,
        *args,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM ({rows_sql}) n WHERE {where}", kind, *args)
    return json_response({"items": [dict(r) for r in rows], "total": total})


def routes() -> list[web.RouteDef]:
    """The reference routes, one pair per collection."""
    collection = "{collection:" + "|".join(COLLECTIONS) + "}"
    return [web.put(f"/{collection}", upsert), web.get(f"/{collection}", list_names)]
