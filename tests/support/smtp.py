"""A real SMTP server in the test process (aiosmtpd), recording what it accepts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from demo.stack import free_port


@dataclass
class Received:
    """One accepted message: envelope recipients, raw bytes, arrival time."""

    recipients: list[str]
    raw: bytes
    at: float

    def parsed(self) -> EmailMessage:
        message = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Recorder:
    """aiosmtpd handler: answers 451 to the first ``defer_first`` messages and 550 to the
    ``reject`` addresses; records everything else."""

    defer_first: int = 0
    reject: set[str] = field(default_factory=set)
    messages: list[Received] = field(default_factory=list)
    deferred: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.deferred < self.defer_first:
                self.deferred += 1
                return "451 4.3.0 try again later"
            self.messages.append(Received(list(envelope.rcpt_tos), envelope.content, time.time()))
        return "250 OK queued"


@contextmanager
def smtp_server(recorder: Recorder | None = None) -> Iterator[tuple[int, Recorder]]:
    """An SMTP server on a free local port."""
    recorder = recorder or Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, recorder
    finally:
        controller.stop()
