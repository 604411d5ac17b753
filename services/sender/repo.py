"""SQL of the sender beyond the ledger's claims: an email's content, a portal inbox entry."""

from __future__ import annotations

from dataclasses import dataclass

from services.sender.mime import File
from shared.db import Pool


@dataclass(frozen=True, slots=True)
class EmailContent:
    """What an email carries: subject, HTML body, files (attachments and documents)."""

    subject: str
    text: str
    files: list[File]


async def content(pool: Pool, message_id: int) -> EmailContent | None:
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
    return EmailContent(row["subject"], row["text"], files)


async def store_portal_message(pool: Pool, message_id: int) -> bool:
    """Put a portal message in its customer's inbox (once, whatever the redeliveries)."""
    status = await pool.fetchval(
        """
        WITH source AS (SELECT id, coalesce(recipient_kind, 'customer') AS kind, customer_id,
                               subject, text FROM messages WHERE id = $1),
             stored AS (
                INSERT INTO portal_messages (message_id, recipient_kind, customer_id, subject, body)
                SELECT id, kind, customer_id, subject, text FROM source
                ON CONFLICT (message_id) DO NOTHING RETURNING 1)
        SELECT count(*) FROM source
        """,
        message_id,
    )
    return bool(status)
