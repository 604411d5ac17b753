"""SQL of the directory: customers and leads. Values always travel as parameters."""

from __future__ import annotations

import json
from typing import Any

from shared.db import Pool, fetch_page, record_to_dict
from shared.filters import count_query, like_pattern, where_clause
from shared.models import PERSON_FIELDS, Filters, Person, RecipientType

__all__ = ["Person", "RecipientType"]

PERSON_COLUMNS = (
    "id, login, status, full_name, email, billing_email, phone, category, location_id,"
    " partner_id, billing_type, services, attributes, updated_at"
)


async def upsert_people(pool: Pool, kind: RecipientType, people: list[Person]) -> None:
    """Insert or replace records by (kind, id), in one statement."""
    columns: dict[str, list[Any]] = {name: [] for name in PERSON_FIELDS}
    for person in people:
        data = person.model_dump(mode="json")
        for name, values in columns.items():
            value = data[name]
            values.append(json.dumps(value) if name in ("services", "attributes") else value)
    await pool.execute(
        """
        INSERT INTO people (kind, id, login, status, full_name, email, billing_email, phone,
                            category, location_id, partner_id, billing_type, services,
                            tariff_ids, service_types, attributes)
        SELECT $1, i.id, i.login, i.status, i.full_name, i.email, i.billing_email, i.phone,
               i.category, i.location_id, i.partner_id, i.billing_type, i.services::jsonb,
               ARRAY(SELECT DISTINCT (s->>'tariff_id')::bigint
                       FROM jsonb_array_elements(i.services::jsonb) s),
               ARRAY(SELECT DISTINCT s->>'type' FROM jsonb_array_elements(i.services::jsonb) s),
               i.attributes::jsonb
          FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                      $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::text[],
                      $13::text[], $14::text[])
            AS i(id, login, status, full_name, email, billing_email, phone, category,
                 location_id, partner_id, billing_type, services, attributes)
        ON CONFLICT (kind, id) DO UPDATE SET
            login = EXCLUDED.login, status = EXCLUDED.status, full_name = EXCLUDED.full_name,
            email = EXCLUDED.email, billing_email = EXCLUDED.billing_email,
            phone = EXCLUDED.phone, category = EXCLUDED.category,
            location_id = EXCLUDED.location_id, partner_id = EXCLUDED.partner_id,
            billing_type = EXCLUDED.billing_type, services = EXCLUDED.services,
            tariff_ids = EXCLUDED.tariff_ids, service_types = EXCLUDED.service_types,
            attributes = EXCLUDED.attributes, updated_at = now()
        """,
        kind,
        *columns.values(),
    )


async def list_people(
    pool: Pool,
    kind: RecipientType,
    limit: int,
    offset: int,
    partner_id: int | None = None,
    search: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of records in id order (only the partner's when given; only those whose login,
    name, email or phone contains ``search`` when given), and how many."""
    where = (
        "kind = $1 AND ($2::bigint IS NULL OR partner_id = $2) AND ($3::text IS NULL"
        " OR login ILIKE $3 OR full_name ILIKE $3 OR email ILIKE $3 OR phone ILIKE $3)"
    )
    return await fetch_page(
        pool,
        f"SELECT {PERSON_COLUMNS} FROM people WHERE {where} ORDER BY id LIMIT $4 OFFSET $5",
        f"SELECT count(*) FROM people WHERE {where}",
        [kind, partner_id, like_pattern(search) if search else None],
        limit,
        offset,
    )


async def get_person(pool: Pool, kind: RecipientType, person_id: int) -> dict[str, Any] | None:
    """One record, or None."""
    row = await pool.fetchrow(
        f"SELECT {PERSON_COLUMNS} FROM people WHERE kind = $1 AND id = $2", kind, person_id
    )
    return record_to_dict(row) if row else None


async def delete_person(pool: Pool, kind: RecipientType, person_id: int) -> bool:
    """Delete one record; False when there was none."""
    status = await pool.execute("DELETE FROM people WHERE kind = $1 AND id = $2", kind, person_id)
    return bool(status == "DELETE 1")


async def matching_people(
    pool: Pool, kind: RecipientType, filters: Filters, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """How many records match the filters, and the first ``limit`` of them.

    The count is exact; it reads ``people_counts`` when the filters allow (see
    :func:`shared.filters.count_query`), so it does not read every matching row.
    """
    # One after the other on purpose: the first page takes 1 - 3 ms (primary-key order), so
    # running it beside the count on a second pooled connection would save next to nothing.
    where, args = where_clause(kind, filters)
    count_sql, count_args = count_query(kind, filters)
    total = await pool.fetchval(count_sql, *count_args)
    rows = await pool.fetch(
        f"SELECT {PERSON_COLUMNS} FROM people WHERE {where} ORDER BY id LIMIT {int(limit)}",
        *args,
    )
    return total, [record_to_dict(r) for r in rows]
