"""CPU time per message, by component: what a figure costs, whatever else loads the machine.

Wall-clock throughput on a shared 2-core machine depends on who else runs; the CPU each
component spends per message does not (much). A snapshot reads utime+stime of every stack
process, of this database's Postgres backends, of the RabbitMQ server and of the machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from bench import procs
from bench.context import Context

# Components in the order they are shown.
COMPONENTS = ("sender", "logger", "resolver", "campaign", "sandbox", "postgres", "rabbitmq")


@dataclass
class Snapshot:
    seconds: dict[str, float]  # per process key: "sender-1", "pg:1234", "rabbitmq", "bench"
    busy: float
    total: float


async def snapshot(ctx: Context, rabbitmq_pid: int | None) -> Snapshot:
    """CPU seconds used so far by each process that works for this deployment."""
    seconds: dict[str, float] = {}
    for name, process in ctx.stack.processes.items():
        used = procs.cpu_seconds(process.pid)
        if used is not None:
            seconds[name] = used
    rows = await ctx.pool.fetch(
        "SELECT pid FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    for row in rows:
        used = procs.cpu_seconds(row["pid"])
        if used is not None:
            seconds[f"pg:{row['pid']}"] = used
    if rabbitmq_pid is not None:
        used = procs.cpu_seconds(rabbitmq_pid)
        if used is not None:
            seconds["rabbitmq"] = used
    used = procs.cpu_seconds(os.getpid())
    if used is not None:
        seconds["bench"] = used
    busy, total = procs.machine_busy_seconds()
    return Snapshot(seconds, busy, total)


def _component(key: str) -> str:
    if key.startswith("pg:"):
        return "postgres"
    return key.split("-", 1)[0]


@dataclass
class Usage:
    """CPU spent between two snapshots, per message."""

    messages: int
    ms_per_message: dict[str, float]  # by component
    machine_busy_pct: float  # of all cores, everyone included
    cores: int

    @property
    def herald_ms(self) -> float:
        return sum(
            v
            for k, v in self.ms_per_message.items()
            if k in ("sender", "logger", "resolver", "campaign")
        )

    @property
    def pipeline_ms(self) -> float:
        """Herald, Postgres and RabbitMQ: what one message costs without the gateway."""
        return (
            self.herald_ms
            + self.ms_per_message.get("postgres", 0)
            + self.ms_per_message.get("rabbitmq", 0)
        )

    def cpu_bound_rate(self) -> float | None:
        """Messages per second the whole machine could sustain at this cost per message
        (gateway excluded), if nothing else ran."""
        return 1000 * self.cores / self.pipeline_ms if self.pipeline_ms > 0 else None

    def describe(self) -> str:
        shown = ", ".join(
            f"{name} {self.ms_per_message[name]:.2f}"
            for name in COMPONENTS
            if name in self.ms_per_message
        )
        return f"CPU ms/msg: {shown} (machine {self.machine_busy_pct:.0f}% busy)"

    def to_json(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "cpu_ms_per_message": {k: round(v, 3) for k, v in self.ms_per_message.items()},
            "herald_ms": round(self.herald_ms, 3),
            "pipeline_ms": round(self.pipeline_ms, 3),
            "machine_busy_pct": round(self.machine_busy_pct, 1),
            "cpu_bound_rate": round(self.cpu_bound_rate() or 0),
        }


def usage(before: Snapshot, after: Snapshot, messages: int) -> Usage:
    """Per-message CPU by component between two snapshots."""
    spent: dict[str, float] = {}
    for key, value in after.seconds.items():
        if key == "bench":
            continue
        # A process that appeared meanwhile (a new pool connection) counts from zero.
        delta = value - before.seconds.get(key, 0.0)
        if delta >= 0:
            spent[_component(key)] = spent.get(_component(key), 0.0) + delta
    per = max(messages, 1)
    total = after.total - before.total
    busy_pct = 100 * (after.busy - before.busy) / total if total > 0 else 0.0
    return Usage(
        messages,
        {k: 1000 * v / per for k, v in spent.items()},
        busy_pct,
        os.cpu_count() or 1,
    )
