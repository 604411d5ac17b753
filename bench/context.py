"""What every figure needs: the running stack, API clients, a database pool, the broker."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractRobustConnection

from bench import procs
from bench.infra import Deployment
from bench.progress import Progress
from bench.report import Results
from demo.client import Api, sandbox_sms_config
from demo.stack import Stack
from shared import topology

SERVICES = ("campaign", "resolver", "logger", "sender")


class ServersRestarted(RuntimeError):
    """Someone restarted RabbitMQ or Postgres under the run: its figures are not valid."""


FINAL = ("sent", "sent_with_error", "cancelled")


@dataclass
class Scale:
    """How big each figure runs (the issue's sizes, or smaller: said in the table)."""

    e2e: int  # people in each end-to-end campaign
    main: int  # people in the end-to-end cohort (loaded)
    directory: int  # people in the big directory (figures 3 and 5)
    resolver: int  # people the resolver campaign matches
    logger_drain: int  # outcomes the logger drains in figure 4
    tests: int  # send-as-test calls in figure 6
    previews: int  # preview calls in figure 5
    reasons: list[str] = field(default_factory=list)


@dataclass
class Context:
    """The state of one benchmark run."""

    stack: Stack
    deployment: Deployment
    progress: Progress
    results: Results
    scale: Scale
    api: Api
    sandbox: Api
    pool: asyncpg.Pool[asyncpg.Record]
    broker: AbstractRobustConnection
    senders: int = 1
    profile_dir: str | None = None
    rabbitmq_pid: int | None = field(default_factory=procs.find_rabbitmq)
    servers_at_start: tuple[int | None, str] | None = None

    # ---- processes -------------------------------------------------------------------------

    def pid(self, name: str) -> int:
        return self.stack.processes[name].pid

    def service_pids(self) -> dict[str, int]:
        """Every Herald service process running now, by stack name."""
        return {
            name: process.pid
            for name, process in self.stack.processes.items()
            if name.split("-", 1)[0] in SERVICES
        }

    async def start(self, name: str) -> None:
        await asyncio.to_thread(self.stack.start, name)

    async def stop(self, name: str) -> None:
        code = await asyncio.to_thread(self.stack.stop, name)
        if code not in (0, None):
            self.progress.note(f"warning: {name} exited with code {code}")

    async def set_senders(self, count: int) -> None:
        """Run exactly ``count`` sender processes (sender-1 .. sender-count)."""
        running = sorted(n for n in self.stack.processes if n.startswith("sender-"))
        for name in running:
            if int(name.split("-")[1]) > count:
                await self.stop(name)
        for index in range(1, count + 1):
            if f"sender-{index}" not in self.stack.processes:
                await self.start(f"sender-{index}")
        self.senders = count

    # ---- gateway ---------------------------------------------------------------------------

    async def configure_gateway(
        self, *, latency_ms: float, max_connections: int, batch_size: int = 0
    ) -> None:
        """Point Herald at the sandbox with this many connections (and BulkSMS batches of
        ``batch_size`` when not 0); set the sandbox latency."""
        config = sandbox_sms_config(
            self.stack.sandbox_url, max_connections=max_connections, batch_size=batch_size
        )
        status, body = await self.api.put("/config/sms", config)
        assert status == 200, body
        status, body = await self.sandbox.put("/config", {"latency_ms": latency_ms})
        assert status == 200, body
        # Senders follow the configuration by NOTIFY; give them a moment to reload.
        await asyncio.sleep(0.5)

    async def sandbox_received(self) -> int:
        """Messages the sandbox has recorded (cheap: no list is built)."""
        status, body = await self.sandbox.get("/messages", params={"limit": "0"})
        assert status == 200, body
        return int(body["total"])

    async def clear_sandbox(self) -> None:
        status, body = await self.sandbox.delete("/messages")
        assert status == 200, body

    # ---- campaigns -------------------------------------------------------------------------

    async def create_campaign(self, filters: dict[str, Any], message: str) -> int:
        status, body = await self.api.post(
            "/campaigns", {"filters": filters, "send_to": "sms", "message": message}
        )
        assert status == 202, body
        return int(body["id"])

    async def campaign_row(self, campaign_id: int) -> asyncpg.Record:
        row = await self.pool.fetchrow(
            "SELECT status, total, recipients_total, started_at, resolved_at, finished_at,"
            " extract(epoch FROM started_at)::float8 AS started_epoch,"
            " extract(epoch FROM resolved_at)::float8 AS resolved_epoch"
            " FROM campaigns WHERE id = $1",
            campaign_id,
        )
        assert row is not None
        return row

    async def campaign_counts(self, campaign_id: int) -> dict[str, int]:
        rows = await self.pool.fetch(
            "SELECT status, count(*) AS n FROM messages WHERE campaign_id = $1 GROUP BY status",
            campaign_id,
        )
        return {r["status"]: r["n"] for r in rows}

    async def cancel(self, campaign_id: int) -> None:
        status, body = await self.api.post(f"/campaigns/{campaign_id}/cancel")
        assert status in (200, 409), body

    # ---- broker ----------------------------------------------------------------------------

    async def queue_depth(self, name: str) -> int:
        channel = await self.broker.channel()
        try:
            queue = await channel.declare_queue(name, passive=True)
            count = queue.declaration_result.message_count
            return int(count or 0)
        finally:
            await channel.close()

    async def purge(self, name: str) -> int:
        channel = await self.broker.channel()
        try:
            queue = await channel.get_queue(name, ensure=True)
            result = await queue.purge()
            return int(getattr(result, "message_count", 0) or 0)
        finally:
            await channel.close()

    async def wait_quiet(self, within: float = 60) -> bool:
        """Wait until no job, outcome or campaign event waits in the broker."""
        names = [topology.SMS.queue, topology.OUTCOME_QUEUE, topology.RESOLVE_QUEUE]
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            depths = [await self.queue_depth(name) for name in names]
            if not any(depths):
                return True
            self.progress.status(
                "waiting for the queues to drain: "
                + ", ".join(f"{n} {d:,}" for n, d in zip(names, depths, strict=True))
            )
            await asyncio.sleep(0.5)
        self.progress.done()
        return False

    async def servers(self) -> tuple[int | None, str]:
        """Who the broker and the database are now (pid, start time): a change means another
        user restarted them during the run, and the figures measured a recovery."""
        started = await self.pool.fetchval("SELECT pg_postmaster_start_time()::text")
        return procs.find_rabbitmq(), str(started)

    async def check_servers(self) -> None:
        """Stop the run if the broker or the database restarted since it began."""
        try:
            now = await self.servers()
        except (OSError, asyncpg.PostgresError) as exc:
            raise ServersRestarted(f"the database is not answering ({exc})") from exc
        if self.servers_at_start is None:
            self.servers_at_start = now
        elif now != self.servers_at_start:
            raise ServersRestarted("RabbitMQ or Postgres was restarted during the run")

    def rss(self) -> dict[str, float | None]:
        return {name: procs.rss_mib(pid) for name, pid in self.service_pids().items()}


async def open_broker(url: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(url, client_properties={"connection_name": "bench"})
