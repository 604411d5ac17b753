"""SQL of the reference names (``reference_names``: kind, id, name)."""

from __future__ import annotations

from typing import Any, Literal

from shared.db import Pool

Kind = Literal["partner", "location", "tariff"]

# The ids the directory uses, from the small table of distinct filter combinations.
_USED: dict[Kind, str] = {
    "partner": "SELECT DISTINCT partner_id FROM people_counts WHERE members > 0",
    "location": "SELECT DISTINCT location_id FROM people_counts WHERE members > 0",
    "tariff": "SELECT DISTINCT unnest(tariff_ids) FROM people_counts WHERE members > 0",
}


async def upsert_names(pool: Pool, kind: Kind, names: list[tuple[int, str]]) -> None:
    """Insert or rename by id."""
    await pool.execute(
        "INSERT INTO reference_names (kind, id, name)"
        " SELECT $1, i.id, i.name FROM unnest($2::bigint[], $3::text[]) AS i(id, name)"
        " ON CONFLICT (kind, id) DO UPDATE SET name = EXCLUDED.name",
        kind,
        [i for i, _ in names],
        [n for _, n in names],
    )


async def list_names(
    pool: Pool, kind: Kind, limit: int, offset: int, only_id: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Every id with a name or used in the directory (name None when it has none yet), in id
    order, only ``only_id`` when given; and how many."""
    rows_sql = (
        f"SELECT coalesce(r.id, u.id) AS id, r.name FROM"
        f" (SELECT id, name FROM reference_names WHERE kind = $1) r"
        f" FULL JOIN ({_USED[kind]}) AS u(id) ON u.id = r.id"
    )
    where = "id IS NOT NULL AND ($2::bigint IS NULL OR id = $2)"
    rows = await pool.fetch(
        f"SELECT id, name FROM ({rows_sql}) n WHERE {where} ORDER BY id LIMIT $3 OFFSET $4",
        kind,
        only_id,
        limit,
        offset,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM ({rows_sql}) n WHERE {where}", kind, only_id)
    return [dict(r) for r in rows], total
