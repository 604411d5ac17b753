"""SQL of files: uploaded attachments and customers' financial documents."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.campaign.files.models import Document
from shared.db import Pool, record_to_dict


async def insert_attachment(
    pool: Pool, filename: str, content_type: str, data: bytes, partner_id: int | None
) -> int:
    """Store an uploaded file of a partner (None: of the unscoped operators); its id."""
    attachment_id: int = await pool.fetchval(
        "INSERT INTO attachments (filename, content_type, size, data, partner_id)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id",
        filename,
        content_type,
        len(data),
        data,
        partner_id,
    )
    return attachment_id


async def attachments(
    pool: Pool, ids: Sequence[int], partner_id: int | None
) -> list[dict[str, Any]]:
    """The attachments with these ids (without their content), only the partner's when one
    is given; unknown ids, and other partners' files, are left out."""
    rows = await pool.fetch(
        "SELECT id, filename, content_type, size FROM attachments WHERE id = ANY($1::bigint[])"
        " AND ($2::bigint IS NULL OR partner_id = $2)",
        list(ids),
        partner_id,
    )
    return [record_to_dict(r) for r in rows]


async def upsert_documents(pool: Pool, documents: Sequence[tuple[Document, bytes]]) -> None:
    """Insert or replace documents by id, each with its decoded PDF."""
    await pool.executemany(
        """
        INSERT INTO documents (id, customer_id, type, number, date, amount, status, filename, pdf)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id,
            type = EXCLUDED.type, number = EXCLUDED.number, date = EXCLUDED.date,
            amount = EXCLUDED.amount, status = EXCLUDED.status, filename = EXCLUDED.filename,
            pdf = EXCLUDED.pdf, updated_at = now()
        """,
        [
            (
                d.id,
                d.customer_id,
                d.type,
                d.number,
                d.date,
                d.amount,
                d.status,
                d.filename or f"{d.type}-{d.number}.pdf",
                pdf,
            )
            for d, pdf in documents
        ],
    )
