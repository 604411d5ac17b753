"""Postgres: connection pools, database creation and schema migrations."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from typing import Any, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import asyncpg.pool

log = logging.getLogger(__name__)

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"
# What pool.acquire() hands out, or a plain connection: the repos accept either.
Connection: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
)

# Any constant works; it only has to be the same in every Herald process.
_MIGRATION_LOCK = 0x48455241  # "HERA"


async def _init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """Herald leaves no session state on pooled connections (no SET, LISTEN or open
    transaction: ``conn.transaction()`` rolls back on error), so the default reset, a
    ``RESET ALL; UNLISTEN *; ...`` round trip on every release, is pure cost."""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> Pool:
    """A pool whose connections read and write json/jsonb as Python objects."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=60,
    )
    assert pool is not None
    return pool


# The API's lists (and their counts) are cancelled by the server past this: a page deep in a
# big table, or a count behind a lock, gives its connection back instead of holding it for
# the pool's minute. A list that needs longer needs narrower filters.
LIST_TIMEOUT = "10s"


@contextlib.asynccontextmanager
async def bounded(pool: Pool) -> AsyncIterator[Connection]:
    """A connection in a read-only transaction whose statements time out after
    ``LIST_TIMEOUT`` (``SET LOCAL``: the setting ends with the transaction)."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        await conn.execute(f"SET LOCAL statement_timeout = '{LIST_TIMEOUT}'")
        yield conn


async def fetch_page(
    pool: Pool, rows_sql: str, count_sql: str, args: Sequence[Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A list page: ``rows_sql`` (its last two placeholders are the limit and the offset) and
    ``count_sql`` (the other placeholders only), in one :func:`bounded` transaction."""
    async with bounded(pool) as conn:
        rows = await conn.fetch(rows_sql, *args, limit, offset)
        total: int = await conn.fetchval(count_sql, *args)
    return [record_to_dict(r) for r in rows], total


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + database))


def database_name(dsn: str) -> str:
    """The database a DSN points at."""
    return urlsplit(dsn).path.lstrip("/") or "postgres"


async def ensure_database(dsn: str) -> None:
    """Create the DSN's database if it does not exist (concurrent callers are fine)."""
    name = database_name(dsn)
    conn = await asyncpg.connect(_with_database(dsn, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Identifiers cannot be parameters; quote_ident-equivalent escaping instead.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute('CREATE DATABASE "{}"'.format(name.replace('"', '""')))
    finally:
        await conn.close()


async def drop_database(dsn: str) -> None:
    """Drop the DSN's database, disconnecting its sessions (tests and benchmarks only)."""
    name = database_name(dsn)
    conn = await asyncpg.connect(_with_database(dsn, "postgres"))
    try:
        await conn.execute(
            'DROP DATABASE IF EXISTS "{}" WITH (FORCE)'.format(name.replace('"', '""'))
        )
    finally:
        await conn.close()


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("shared").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(pool: Pool) -> int:
    """Bring the schema to the newest version; returns it. Serialised by an advisory lock."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
        version: int = current
        for number, sql in _migrations():
            if number > version:
                log.info("applying schema migration %d", number)
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", number)
                version = number
        return version


async def open_database(dsn: str, *, max_size: int = 10) -> Pool:
    """Create the database if needed, open a pool and migrate: every service's start-up."""
    await ensure_database(dsn)
    pool = await create_pool(dsn, max_size=max_size)
    await migrate(pool)
    return pool


def record_to_dict(record: Any) -> dict[str, Any]:
    """A plain dict from an asyncpg Record."""
    return dict(record.items())
