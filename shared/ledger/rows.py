"""New ledger rows (a campaign's, a test send's) and cancelling a campaign's unsent ones."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import asyncpg

from shared.db import Connection, Pool


class NewRow(Protocol):
    """One message of a campaign to store: to one address of one person, on one channel."""

    @property
    def channel(self) -> str: ...
    @property
    def customer_id(self) -> int: ...
    @property
    def recipient(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def attachments(self) -> tuple[int, ...]: ...
    @property
    def documents(self) -> tuple[int, ...]: ...


_INSERT_ROWS = """
    WITH inserted AS (
        INSERT INTO messages (channel, campaign_id, recipient_kind, customer_id, recipient,
                              subject, text, status, error, attachments, documents, expires_at)
        SELECT r.channel, $1, $2, r.customer_id, r.recipient, r.subject, r.text, r.status,
               r.error, r.attachments::jsonb, r.documents::jsonb, r.expires_at
          FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                      $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[])
            AS r(channel, customer_id, recipient, subject, text, status, error,
                 attachments, documents, expires_at)
        ON CONFLICT (campaign_id, customer_id, channel, recipient)
           WHERE campaign_id IS NOT NULL DO NOTHING
        RETURNING id, channel, recipient, text, status, expires_at
    )
    SELECT id, channel, recipient, text, status, expires_at, true AS fresh FROM inserted
    UNION ALL
    SELECT id, channel, recipient, text, status, expires_at, false FROM messages
     WHERE campaign_id = $1 AND customer_id = ANY($4::bigint[])
    ORDER BY id
"""
_NO_IDS = json.dumps([])


def _ids(values: tuple[int, ...]) -> str:
    return json.dumps(list(values)) if values else _NO_IDS


async def insert_campaign_rows(
    pool: Pool,
    campaign_id: int,
    kind: str,
    rows: Sequence[NewRow],
    expires_at: dict[str, datetime],
) -> list[asyncpg.Record]:
    """Insert a campaign's rows, keeping existing ones, in one statement. Returns the rows
    these people have (id, channel, recipient, text, status, expires_at, ``fresh`` when
    inserted now): the statement's snapshot does not see its own inserts, so none is twice.
    """
    return await pool.fetch(
        _INSERT_ROWS,
        campaign_id,
        kind,
        [r.channel for r in rows],
        [r.customer_id for r in rows],
        [r.recipient for r in rows],
        [r.subject for r in rows],
        [r.text for r in rows],
        [r.status for r in rows],
        [r.error for r in rows],
        [_ids(r.attachments) for r in rows],
        [_ids(r.documents) for r in rows],
        [expires_at[r.channel] for r in rows],
    )


async def insert_test_message(
    conn: Connection | Pool,
    *,
    channel: str,
    recipient: str,
    text: str,
    expires_at: datetime,
    recipient_kind: str | None = None,
    customer_id: int | None = None,
    subject: str = "",
    attachments: Sequence[int] = (),
    sending: bool = False,
) -> int:
    """A test message outside any campaign; its id. ``sending`` when the caller delivers it
    at once itself (the row counts as claimed, one attempt), else ``new`` for a sender."""
    message_id: int = await conn.fetchval(
        "INSERT INTO messages (channel, type, recipient_kind, customer_id, recipient,"
        " subject, text, attachments, expires_at, status, attempts)"
        " VALUES ($1, 'test', $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        channel,
        recipient_kind,
        customer_id,
        recipient,
        subject,
        text,
        list(attachments),
        expires_at,
        "sending" if sending else "new",
        1 if sending else 0,
    )
    return message_id


async def cancel_campaign_messages(
    conn: Connection, campaign_id: int, error: str = "campaign cancelled"
) -> int:
    """Every message of the campaign not yet handed to a gateway becomes ``cancelled``, so
    no sender will claim it; how many did."""
    rows = await conn.fetch(
        "UPDATE messages SET status = 'cancelled', error = $2,"
        " updated_at = now() WHERE campaign_id = $1 AND status = 'new' RETURNING 1",
        campaign_id,
        error,
    )
    return len(rows)
