"""Query parameters and schema bits several route declarations share (OpenAPI only: the
handlers parse their parameters with ``web.py``'s helpers)."""

from __future__ import annotations

from collections.abc import Iterable

from services.campaign.http.routes import Param, Schema
from services.campaign.http.web import MAX_OFFSET, MAX_PAGE

ID: Schema = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
STRING: Schema = {"type": "string"}
DATE_TIME: Schema = {"type": "string", "format": "date-time"}


def enum(values: Iterable[str]) -> Schema:
    """One of these strings."""
    return {"type": "string", "enum": list(values)}


LIMIT = Param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50})
OFFSET = Param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0})
PAGE = (LIMIT, OFFSET)
FROM = Param("from", DATE_TIME, "from this instant (inclusive; ISO 8601 with a zone)")
TO = Param("to", DATE_TIME, "until this instant (exclusive; ISO 8601 with a zone)")
