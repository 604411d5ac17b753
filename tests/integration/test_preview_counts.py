"""The preview's count (real Postgres): ``people_counts`` (migration 0006) stays equal to what
``count(*)`` of ``people`` says, through every way the directory is written."""

from __future__ import annotations

import pytest

from services.campaign.directory import repo
from shared.db import Pool
from shared.filters import count_query, where_clause
from shared.models import Filters, Person

pytestmark = pytest.mark.timeout(60)

FILTER_SETS = [
    Filters(),
    Filters(status=["active"]),
    Filters(status=["active"], partner_ids=[1], tariff_ids=[10]),
    Filters(location_ids=[2, 3], category=["company"]),
    Filters(billing_type="prepaid", services=["voice"]),
    Filters(partner_ids=[2], tariff_ids=[11, 20], status=["new", "blocked"]),
    # Not countable from people_counts: these count in people.
    Filters(full_name="Ann", status=["active"]),
    Filters(exclude_ids=[1, 2, 3]),
]


def person(person_id: int, **changes: object) -> Person:
    """A customer whose groupable columns vary with the id."""
    services = [{"type": "internet", "tariff_id": 10 + person_id % 3}]
    if person_id % 4 == 0:
        services.append({"type": "voice", "tariff_id": 20})
    data: dict[str, object] = {
        "id": person_id,
        "login": f"{person_id:05d}",
        "status": ["active", "active", "new", "blocked"][person_id % 4],
        "full_name": ["Ann Lee", "Bo Ng"][person_id % 2],
        "phone": f"+2782{person_id:07d}",
        "category": "company" if person_id % 5 == 0 else "private",
        "location_id": None if person_id % 7 == 0 else 1 + person_id % 3,
        "partner_id": None if person_id % 11 == 0 else 1 + person_id % 2,
        "billing_type": "prepaid" if person_id % 6 == 0 else "recurring",
        "services": services,
    }
    data.update(changes)
    return Person.model_validate(data)


async def assert_counts_exact(pool: Pool) -> None:
    """Every filter set counts the same from people_counts as from people."""
    for kind in ("customer", "lead"):
        for filters in FILTER_SETS:
            sql, args = count_query(kind, filters)
            where, where_args = where_clause(kind, filters)
            expected = await pool.fetchval(
                f"SELECT count(*) FROM people WHERE {where}", *where_args
            )
            assert await pool.fetchval(sql, *args) == expected, (kind, filters)
    empty = await pool.fetchval("SELECT count(*) FROM people_counts WHERE members <= 0")
    assert empty == 0


async def test_counts_follow_inserts_updates_deletes_and_truncate(pool: Pool) -> None:
    await repo.upsert_people(pool, "customer", [person(i) for i in range(1, 201)])
    await repo.upsert_people(pool, "lead", [person(i) for i in range(1, 31)])
    assert await pool.fetchval("SELECT sum(members) FROM people_counts") == 230
    await assert_counts_exact(pool)

    # An upsert that moves people between groups, one that moves nobody, and new people.
    moved = [person(i, status="inactive", partner_id=3, location_id=None) for i in range(1, 60)]
    same = [person(i, full_name="Renamed") for i in range(60, 120)]
    await repo.upsert_people(pool, "customer", moved + same + [person(i) for i in (201, 202)])
    await assert_counts_exact(pool)

    # A plain UPDATE (several statements in one transaction) and deletes.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("UPDATE people SET status = 'blocked' WHERE id % 9 = 0")
        await conn.execute("UPDATE people SET tariff_ids = '{10,20}' WHERE id % 13 = 0")
    assert await repo.delete_person(pool, "customer", 5)
    await pool.execute("DELETE FROM people WHERE kind = 'lead' AND id > 20")
    await assert_counts_exact(pool)
    assert await pool.fetchval("SELECT sum(members) FROM people_counts") == 221

    # A rolled-back write leaves no trace.
    with pytest.raises(RuntimeError):
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM people WHERE kind = 'customer'")
            raise RuntimeError("roll back")
    await assert_counts_exact(pool)

    await pool.execute("TRUNCATE people")
    assert await pool.fetchval("SELECT count(*) FROM people_counts") == 0


async def test_copy_is_counted(pool: Pool) -> None:
    # A bulk load by COPY (as a restore or the benchmark does) fires the statement triggers.
    columns = ["kind", "id", "status", "location_id", "partner_id", "tariff_ids"]
    rows = [("customer", i, "active", None, 1 + i % 2, [10 + i % 4]) for i in range(1, 1001)]
    async with pool.acquire() as conn:
        await conn.copy_records_to_table("people", records=rows, columns=columns)
    await assert_counts_exact(pool)
    total, people = await repo.matching_people(
        pool, "customer", Filters(partner_ids=[1], tariff_ids=[10]), 3
    )
    assert total == 250 and [p["id"] for p in people] == [4, 8, 12]
