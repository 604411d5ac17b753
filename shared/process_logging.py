"""Process logging, and masking of personal data before it reaches a log line."""

from __future__ import annotations

import logging
import sys


def setup(service: str, level: str = "INFO") -> None:
    """One-line records on stderr, tagged with the service name."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format=f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s",
        force=True,
    )
    # aiormq logs every reconnect attempt at length; one line from aio-pika is enough.
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)


def mask_phone(number: str) -> str:
    """Only the last three digits of a phone number, for logs."""
    digits = [c for c in number if c.isdigit()]
    return "***" + "".join(digits[-3:]) if digits else "***"


def mask_email(address: str) -> str:
    """The first letter and the domain of an address, for logs."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
