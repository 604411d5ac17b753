"""The benchmark's customers: generated from their id alone, loaded by COPY or by the API.

Ids are laid out in cohorts so that one directory serves every figure:

* ``1 .. PROBE``: the warm-up campaign's people (``location_id`` 100);
* ``PROBE+1 .. PROBE+main``: the end-to-end campaigns' people, spread over twenty locations
  (1..20) so that a campaign can take 5 %, 10 % ... of them;
* the rest, up to the big directory: locations 21..30.

``partner_id`` is 1 for even ids, so over ``1 .. 1,000,000`` partner 1 matches exactly
500,000 people (the resolver figure). Each person has one South African mobile number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg

PROBE = 2_000
PROBE_LOCATION = 100
MAIN_LOCATIONS = 20
BIG_LOCATIONS = range(21, 31)
CHUNK = 50_000

FIRST = ["Thandi", "Sipho", "Johan", "Aisha", "Lerato", "Pieter", "Naledi", "Léa", "Zoë", "Ahmed"]
LAST = ["Mokoena", "van der Merwe", "Naidoo", "Dlamini", "Botha", "Nkosi", "Müller", "Smith"]
STATUSES = ["active", "active", "active", "active", "active", "active", "new", "inactive"]
MESSAGE = (
    "Dear {{ customer.full_name }}, your balance is {{ customer.attributes.balance }} ZAR."
    " {{ company.name }}"
)

COLUMNS = [
    "kind",
    "id",
    "login",
    "status",
    "full_name",
    "email",
    "billing_email",
    "phone",
    "category",
    "location_id",
    "partner_id",
    "billing_type",
    "services",
    "tariff_ids",
    "service_types",
    "attributes",
]


def phone_of(person_id: int) -> str:
    """The person's mobile number (unique, valid South African)."""
    return f"+2782{person_id:07d}"


def location_of(person_id: int, main: int) -> int:
    """The cohort location of an id (see the module's docstring)."""
    if person_id <= PROBE:
        return PROBE_LOCATION
    if person_id <= PROBE + main:
        return 1 + (person_id - PROBE - 1) % MAIN_LOCATIONS
    return BIG_LOCATIONS[person_id % len(BIG_LOCATIONS)]


def _services(person_id: int) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = [{"type": "internet", "tariff_id": 10 + person_id % 4}]
    if person_id % 3 == 0:
        services.append({"type": "voice", "tariff_id": 20})
    return services


def _balance(person_id: int) -> float:
    return round((person_id * 37) % 100_000 / 100 - 200, 2)


def record(person_id: int, main: int) -> dict[str, Any]:
    """The person as the API's ``PUT /customers`` takes it."""
    return {
        "id": person_id,
        "login": f"{person_id:07d}",
        "status": STATUSES[person_id % len(STATUSES)],
        "full_name": f"{FIRST[person_id % len(FIRST)]} {LAST[person_id // 7 % len(LAST)]}",
        "email": f"customer{person_id}@example.net",
        "billing_email": "",
        "phone": phone_of(person_id),
        "category": "company" if person_id % 6 == 0 else "private",
        "location_id": location_of(person_id, main),
        "partner_id": 1 + person_id % 2,
        "billing_type": "prepaid" if person_id % 5 == 0 else "recurring",
        "services": _services(person_id),
        "attributes": {"balance": _balance(person_id)},
    }


# The services column takes 8 shapes (tariff 10..13, with or without voice): encoded once.
_SHAPES = {
    key: (
        json.dumps(_services(key)),
        sorted({s["tariff_id"] for s in _services(key)}),
        sorted({s["type"] for s in _services(key)}),
    )
    for key in range(12)  # person_id % 12 decides both tariff (% 4) and voice (% 3)
}


def row(person_id: int, main: int) -> tuple[Any, ...]:
    """The person as a COPY row of ``COLUMNS`` (the same values as :func:`record`)."""
    services, tariffs, types = _SHAPES[person_id % 12]
    return (
        "customer",
        person_id,
        f"{person_id:07d}",
        STATUSES[person_id % len(STATUSES)],
        f"{FIRST[person_id % len(FIRST)]} {LAST[person_id // 7 % len(LAST)]}",
        f"customer{person_id}@example.net",
        "",
        f"+2782{person_id:07d}",
        "company" if person_id % 6 == 0 else "private",
        location_of(person_id, main),
        1 + person_id % 2,
        "prepaid" if person_id % 5 == 0 else "recurring",
        services,
        tariffs,
        types,
        f'{{"balance": {_balance(person_id)!r}}}',
    )


def _chunks(ranges: list[tuple[int, int]], main: int) -> Iterator[list[tuple[Any, ...]]]:
    for first, last in ranges:
        for start in range(first, last + 1, CHUNK):
            yield [row(i, main) for i in range(start, min(start + CHUNK, last + 1))]


async def _secondary_indexes(conn: asyncpg.Connection[asyncpg.Record]) -> list[tuple[str, str]]:
    """(name, definition) of the people table's indexes that no constraint owns."""
    rows = await conn.fetch(
        """
        SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_class t ON t.oid = x.indrelid
         WHERE t.relname = 'people' AND t.relnamespace = 'public'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        """
    )
    return [(r["name"], r["definition"]) for r in rows]


async def copy_people(
    database_url: str,
    ranges: list[tuple[int, int]],
    *,
    main: int,
    rebuild_indexes: bool,
    on_progress: Callable[[int], None],
) -> float:
    """COPY the people of each ``(first, last)`` id range into the table; returns rows per
    second (index maintenance or rebuild included).

    With ``rebuild_indexes`` the secondary indexes are dropped first and created again from
    their own definitions afterwards (what a bulk restore does; much faster for a big load).
    The table is analysed afterwards, as autovacuum would do soon after such a load.
    """
    conn = await asyncpg.connect(database_url)
    try:
        started = time.monotonic()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        indexes = await _secondary_indexes(conn) if rebuild_indexes else []
        for name, _ in indexes:
            await conn.execute(f'DROP INDEX "{name}"')
        done = 0
        for rows in _chunks(ranges, main):
            await conn.copy_records_to_table("people", records=rows, columns=COLUMNS)
            done += len(rows)
            on_progress(done)
        for _, definition in indexes:
            await conn.execute(definition)
        await conn.execute("ANALYZE people")
        return sum(last - first + 1 for first, last in ranges) / (time.monotonic() - started)
    finally:
        await conn.close()
