"""Building email messages (pure): HTML with a plain-text alternative, attachments."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}


@dataclass(frozen=True, slots=True)
class File:
    """An attachment: name, MIME type and content."""

    filename: str
    content_type: str
    data: bytes


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.parts.append(f"<{href}> ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """A readable plain-text version of an HTML body (for the text/plain alternative)."""
    if "<" not in markup:
        return html.unescape(markup).strip()
    parser = _Text()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def build_email(
    *,
    message_id: int,
    from_address: str,
    from_name: str,
    to: str,
    subject: str,
    body_html: str,
    files: Sequence[File] = (),
) -> EmailMessage:
    """A MIME message: multipart/alternative (text + HTML), plus attachments if any.

    The Message-ID is derived from the ledger id, so a resend after an unknown outcome
    carries the same id and receiving systems can recognise the duplicate.
    """
    message = EmailMessage(policy=policy.SMTP)
    domain = from_address.rpartition("@")[2] or "herald.invalid"
    message["From"] = formataddr((from_name, from_address)) if from_name else from_address
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<herald.{message_id}@{domain}>"
    message.set_content(html_to_text(body_html), charset="utf-8")
    message.add_alternative(body_html, subtype="html", charset="utf-8")
    for file in files:
        maintype, _, subtype = file.content_type.partition("/")
        message.add_attachment(
            file.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=file.filename,
        )
    return message
