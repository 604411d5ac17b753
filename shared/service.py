"""Running a service process: logging, signals, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from shared import encryption, process_logging
from shared.settings import Settings, get_settings

Main = Callable[[Settings, asyncio.Event], Awaitable[None]]


def run(service: str, main: Main) -> None:
    """Run ``main(settings, stop)`` until it returns; SIGTERM/SIGINT set ``stop``."""
    settings = get_settings()
    process_logging.setup(service, settings.log_level)
    encryption.announce()

    async def _runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(settings, stop)

    try:
        asyncio.run(_runner())
    except Exception:
        logging.getLogger(service).exception("%s stopped on an error", service)
        raise SystemExit(1) from None


def ready(service: str, detail: str) -> None:
    """The one line each process logs when it is ready."""
    logging.getLogger(service).info("%s ready: %s", service, detail)


async def shutdown_step(step: Awaitable[object], seconds: float = 5.0) -> None:
    """One shutdown step, bounded: with the broker or the database away, closing must not
    keep the process from stopping (what is unacked is redelivered anyway)."""
    try:
        await asyncio.wait_for(step, seconds)
    except Exception as exc:  # TimeoutError included
        logging.getLogger(__name__).warning("shutdown step skipped: %s", type(exc).__name__)
