"""SQL of message templates."""

from __future__ import annotations

from typing import Any

from services.campaign.templates.models import Template, TemplateBody
from shared.db import Connection, Pool, record_to_dict

# The answer model names the columns: the SQL reads what the API shows.
COLUMNS = ", ".join(Template.model_fields)


async def list_templates(
    pool: Pool, channel: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of templates in id order (of one channel when given), and how many."""
    where, args = ("WHERE channel = $1", [channel]) if channel else ("", [])
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM templates {where} ORDER BY id LIMIT {int(limit)}"
        f" OFFSET {int(offset)}",
        *args,
    )
    total = await pool.fetchval(f"SELECT count(*) FROM templates {where}", *args)
    return [record_to_dict(r) for r in rows], total


async def insert(pool: Connection | Pool, body: TemplateBody) -> dict[str, Any]:
    """Store a new template."""
    row = await pool.fetchrow(
        f"INSERT INTO templates (title, description, channel, subject, body)"
        f" VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}",
        body.title,
        body.description,
        body.channel,
        body.subject,
        body.body,
    )
    return record_to_dict(row)


async def get(pool: Pool, template_id: int) -> dict[str, Any] | None:
    """One template, or None."""
    row = await pool.fetchrow(f"SELECT {COLUMNS} FROM templates WHERE id = $1", template_id)
    return record_to_dict(row) if row else None


async def source(pool: Pool, template_id: int | None) -> tuple[str, str] | None:
    """A template's (body, subject), or None when there is no such template."""
    row = await pool.fetchrow("SELECT body, subject FROM templates WHERE id = $1", template_id)
    return (row["body"], row["subject"]) if row else None


async def update(
    pool: Connection | Pool, template_id: int, body: TemplateBody
) -> dict[str, Any] | None:
    """Replace a template; None when there is none."""
    row = await pool.fetchrow(
        f"UPDATE templates SET title = $2, description = $3, channel = $4, subject = $5,"
        f" body = $6, updated_at = now() WHERE id = $1 RETURNING {COLUMNS}",
        template_id,
        body.title,
        body.description,
        body.channel,
        body.subject,
        body.body,
    )
    return record_to_dict(row) if row else None


async def delete(pool: Connection | Pool, template_id: int) -> bool:
    """Delete a template; False when there was none."""
    status = await pool.execute("DELETE FROM templates WHERE id = $1", template_id)
    return bool(status == "DELETE 1")
