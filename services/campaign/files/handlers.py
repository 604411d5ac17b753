"""Files that emails carry: uploaded attachments and customers' financial documents."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

import filetype
from aiohttp import BodyPartReader, web

from services.campaign.files import repo
from services.campaign.files.models import Attachment, Document
from services.campaign.http.answers import UpsertResult
from services.campaign.http.problems import Problem, field_error, parse_array
from services.campaign.http.routes import BULK_BODY_BYTES, Route, bulk_upsert, tagged
from services.campaign.http.rules import OPERATOR, Rule
from services.campaign.http.web import json_response, pool_of

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS = 1000
# Types an operator may attach; anything else (executables...) is refused.
ALLOWED_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/zip",
    "text/plain",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def sniff(data: bytes, declared: str | None) -> str:
    """The content type from the bytes themselves; text only when it decodes as UTF-8."""
    kind = filetype.guess(data)
    if kind is not None:
        return str(kind.mime)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/csv" if declared == "text/csv" else "text/plain"


async def upload(request: web.Request) -> web.Response:
    """``POST /attachments``: one multipart file field; answers its id."""
    if not request.content_type.startswith("multipart/"):
        raise Problem(415, "expected multipart/form-data with a file field")
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and not (isinstance(part, BodyPartReader) and part.filename):
        part = await reader.next()
    if part is None:
        raise field_error("file", "no file in the upload")
    assert isinstance(part, BodyPartReader)
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise Problem(413, f"attachments are limited to {MAX_ATTACHMENT_BYTES} bytes")
    if not data:
        raise field_error("file", "the file is empty")
    content_type = sniff(bytes(data), part.headers.get("Content-Type"))
    if content_type not in ALLOWED_TYPES:
        raise field_error("file", f"files of type {content_type} cannot be attached")
    # aiohttp's client percent-encodes non-ASCII names; browsers send them raw.
    filename = unquote(part.filename or "attachment")[:255]
    attachment_id = await repo.insert_attachment(
        pool_of(request), filename, content_type, bytes(data)
    )
    return json_response(
        Attachment(id=attachment_id, filename=filename, content_type=content_type, size=len(data)),
        status=201,
    )


async def upsert_documents(request: web.Request) -> web.Response:
    """``PUT /documents``: bulk upsert by id, each with its PDF in base64."""
    documents = await parse_array(request, Document, MAX_DOCUMENTS)
    pdfs = []
    for index, document in enumerate(documents):
        try:
            pdf = base64.b64decode(document.pdf, validate=True)
        except (binascii.Error, ValueError):
            raise field_error(f"[{index}].pdf", "not valid base64") from None
        if not pdf.startswith(b"%PDF"):
            raise field_error(f"[{index}].pdf", "not a PDF document")
        pdfs.append(pdf)
    await repo.upsert_documents(pool_of(request), list(zip(documents, pdfs, strict=True)))
    return json_response(UpsertResult(upserted=len(documents)))


# Uploads are not anyone's yet; documents belong to customers (checked per record once the
# handler does it).
ROUTES = tagged(
    "email and portal",
    Route("POST", "/attachments", upload, Rule(OPERATOR),
          "Upload one file (multipart field `file`)", Attachment, 201, multipart=True,
          body_cap=BULK_BODY_BYTES),
    bulk_upsert("/documents", upsert_documents,
                "Bulk upsert of financial documents (PDF in base64)", Document, MAX_DOCUMENTS),
)  # fmt: skip
