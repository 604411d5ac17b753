"""Run the sandbox gateway: python -m sandbox [--host 127.0.0.1] [--port 9090]."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from sandbox.app import create_app

# Shorter than aiohttp's 60 s so SIGTERM during a hang_ms sleep still exits promptly.
SHUTDOWN_TIMEOUT_S = 2.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line; SANDBOX_HOST / SANDBOX_PORT provide the defaults."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port",
        type=int,
        default=os.environ.get("SANDBOX_PORT", "9090"),
        help="TCP port; 0 picks a free one (the ready line shows which)",
    )
    return parser.parse_args(argv)


async def serve(host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT, printing the ready line once listening."""
    runner = web.AppRunner(create_app(), access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
        await site.start()
        bound = runner.addresses[0][1] if port == 0 else port
        shown = f"[{host}]" if ":" in host else host
        print(f"sandbox gateway ready on http://{shown}:{bound}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port))
    except OSError as exc:
        print(f"sandbox gateway: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
