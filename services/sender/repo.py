"""SQL of the sender: claiming a message before the gateway call, releasing it for a retry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from services.sender.mime import File
from shared import ledger
from shared.db import Pool

ClaimResult = Literal["claimed", "final", "busy", "missing", "held"]


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of a claim; ``attempts`` counts gateway calls, this one included."""

    result: ClaimResult
    attempts: int = 0


async def claim(pool: Pool, message_id: int, lease: timedelta) -> Claim:
    """Take a message for sending, unless it is final, another sender holds it, or its
    campaign is paused (``held``: the job is dropped; resuming republishes the campaign)."""
    row = await pool.fetchrow(
        """
        WITH claimed AS (
            UPDATE messages
               SET status = 'sending', attempts = attempts + 1,
                   claimed_until = now() + $2::interval, updated_at = now()
             WHERE id = $1
               AND (status = 'new' OR (status = 'sending' AND claimed_until < now()))
               AND NOT EXISTS (SELECT 1 FROM campaigns c
                                WHERE c.id = messages.campaign_id AND c.status = 'paused')
            RETURNING attempts)
        SELECT (SELECT attempts FROM claimed) AS attempts,
               m.status,
               (SELECT c.status FROM campaigns c WHERE c.id = m.campaign_id) AS campaign
          FROM (SELECT $1::bigint AS id) wanted
          LEFT JOIN messages m ON m.id = wanted.id
        """,
        message_id,
        lease,
    )
    assert row is not None
    if row["attempts"] is not None:
        return Claim("claimed", row["attempts"])
    if row["status"] is None:
        return Claim("missing")
    if row["campaign"] == "paused" and row["status"] == "new":
        return Claim("held")
    return Claim("final" if row["status"] in ledger.FINAL else "busy")


async def release(
    pool: Pool, message_id: int, attempts: int, error: str, answer: str | None
) -> None:
    """Hand our claim (``attempts`` identifies it) back for a later attempt, noting why this
    one failed. A claim that expired and was taken by another sender is left alone."""
    await pool.execute(
        "UPDATE messages SET status = 'new', claimed_until = NULL, error = $3,"
        " gateway_answer = coalesce($4, gateway_answer), updated_at = now()"
        " WHERE id = $1 AND status = 'sending' AND attempts = $2",
        message_id,
        attempts,
        error.replace("\x00", "\ufffd"),
        answer.replace("\x00", "\ufffd") if answer else answer,
    )


@dataclass(frozen=True, slots=True)
class Content:
    """What an email carries: subject, HTML body, files (attachments and documents)."""

    subject: str
    text: str
    files: list[File]


async def content(pool: Pool, message_id: int) -> Content | None:
    """The subject, body and files of one email message."""
    row = await pool.fetchrow(
        "SELECT subject, text, attachments, documents FROM messages WHERE id = $1", message_id
    )
    if row is None:
        return None
    files = [
        File(r["filename"], r["content_type"], r["data"])
        for r in await pool.fetch(
            "SELECT filename, content_type, data FROM attachments"
            " WHERE id = ANY($1::bigint[]) ORDER BY id",
            list(row["attachments"]),
        )
    ]
    files += [
        File(r["filename"], "application/pdf", r["pdf"])
        for r in await pool.fetch(
            "SELECT filename, pdf FROM documents WHERE id = ANY($1::bigint[]) ORDER BY date, id",
            list(row["documents"]),
        )
    ]
    return Content(row["subject"], row["text"], files)


async def store_portal_message(pool: Pool, message_id: int) -> bool:
    """Put a portal message in its customer's inbox (once, whatever the redeliveries)."""
    status = await pool.fetchval(
        """
        WITH source AS (SELECT id, customer_id, subject, text FROM messages WHERE id = $1),
             stored AS (
                INSERT INTO portal_messages (message_id, customer_id, subject, body)
                SELECT id, customer_id, subject, text FROM source
                ON CONFLICT (message_id) DO NOTHING RETURNING 1)
        SELECT count(*) FROM source
        """,
        message_id,
    )
    return bool(status)
