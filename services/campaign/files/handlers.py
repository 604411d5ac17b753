"""Files that emails carry: uploaded attachments and customers' financial documents."""

from __future__ import annotations

import base64
import binascii
import unicodedata
from urllib.parse import unquote

import filetype
from aiohttp import BodyPartReader, MultipartReader, web

from services.campaign.files import repo
from services.campaign.files.models import Attachment, Document
from services.campaign.http.access import partner_of
from services.campaign.http.answers import UpsertResult
from services.campaign.http.problems import Problem, field_error, parse_array
from services.campaign.http.routes import Route, bulk_upsert, tagged
from services.campaign.http.rules import OPERATOR, Rule
from services.campaign.http.web import json_response, pool_of

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS = 1000
# Types an operator may attach; anything else (executables...) is refused.
# Types an operator may attach, and the extension a stored file of that type gets (whatever
# the uploaded name said: a PNG named invoice.html is stored as invoice.png).
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/zip": "zip",
    "text/plain": "txt",
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
ALLOWED_TYPES = set(EXTENSIONS)
# The whole multipart body, every part included: the file plus room for its headers and a
# few small fields. Counted as it is read, so a chunked upload (no Content-Length) is bounded.
MAX_UPLOAD_BYTES = MAX_ATTACHMENT_BYTES + 256 * 1024
MAX_PARTS = 8


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


def stored_name(raw: str | None, content_type: str) -> str:
    """The name a file is stored under: no control characters or directories, and the
    extension of its sniffed type."""
    # aiohttp's client percent-encodes non-ASCII names; browsers send them raw.
    name = unquote(raw or "")
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip(" .")
    stem = name.rsplit(".", 1)[0].strip(" .") if "." in name else name
    return f"{stem[:240] or 'attachment'}.{EXTENSIONS[content_type]}"


async def _file_part(request: web.Request, reader: MultipartReader) -> BodyPartReader:
    """The first part that is a file, reading at most ``MAX_PARTS`` parts."""
    for _ in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise field_error("file", "nested multipart bodies are not accepted")
        if part.filename:
            return part
        while await part.read_chunk(64 * 1024):  # another field: skipped, within the bound
            _check_total(request)
    raise field_error("file", "no file in the upload")


def _check_total(request: web.Request) -> None:
    if request.content.total_bytes > MAX_UPLOAD_BYTES:
        raise Problem(413, f"uploads are limited to {MAX_UPLOAD_BYTES} bytes in all")


async def upload(request: web.Request) -> web.Response:
    """``POST /attachments``: one multipart file field; answers its id."""
    if not request.content_type.startswith("multipart/"):
        raise Problem(415, "expected multipart/form-data with a file field")
    part = await _file_part(request, await request.multipart())
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data += chunk
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise Problem(413, f"attachments are limited to {MAX_ATTACHMENT_BYTES} bytes")
        _check_total(request)
    if not data:
        raise field_error("file", "the file is empty")
    content_type = sniff(bytes(data), part.headers.get("Content-Type"))
    if content_type not in ALLOWED_TYPES:
        raise field_error("file", f"files of type {content_type} cannot be attached")
    filename = stored_name(part.filename, content_type)
    attachment_id = await repo.insert_attachment(
        pool_of(request), filename, content_type, bytes(data), partner_of(request)
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


# An upload belongs to the caller's partner (files/repo.py); documents belong to customers
# (checked per record once the handler does it).
ROUTES = tagged(
    "email and portal",
    Route("POST", "/attachments", upload, Rule(OPERATOR),
          "Upload one file (multipart field `file`)", Attachment, 201, multipart=True,
          body_cap=MAX_UPLOAD_BYTES),
    bulk_upsert("/documents", upsert_documents,
                "Bulk upsert of financial documents (PDF in base64)", Document, MAX_DOCUMENTS),
)  # fmt: skip
