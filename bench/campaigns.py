"""Running one campaign end to end and timing it from the outside."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from bench import cpu as cpu_meter
from bench.context import FINAL, Context
from bench.directory import MESSAGE

# The final status is polled in the database this often (a primary-key lookup): the
# end time, hence the logger lag, is known to within this much.
POLL_S = 0.05
# The sandbox's count and the progress line are refreshed this often.
STATUS_EVERY_S = 1.0
# Whether someone restarted the servers under the campaign is checked this often.
SERVERS_EVERY_S = 5.0


@dataclass
class CampaignRun:
    """What one campaign took, seen from the API, the database and the sandbox."""

    campaign_id: int
    expected: int
    messages: int = 0  # ledger rows (one per number)
    received: int = 0  # what the sandbox recorded
    status: str = ""
    elapsed_s: float = 0.0  # POST /campaigns -> final status seen
    resolve_s: float | None = None  # started_at -> resolved_at (database clock)
    lag_s: float | None = None  # sandbox's last message -> final status seen
    complete: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    cpu: cpu_meter.Usage | None = None

    @property
    def rate(self) -> float:
        done = self.messages if self.complete else self.received
        return done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def problems(self) -> list[str]:
        """What went wrong, if anything, for the table's note."""
        found = []
        if not self.complete:
            found.append(f"stopped after {self.elapsed_s:.0f}s at {self.received:,} sent")
        elif self.status != "sent":
            found.append(f"status {self.status}: {self.counts}")
        if self.complete and self.received != self.messages:
            found.append(f"sandbox got {self.received:,} of {self.messages:,}")
        return found


async def run_campaign(
    ctx: Context, label: str, filters: dict[str, Any], expected: int, cap_s: float
) -> CampaignRun:
    """POST a campaign and wait for its final status (cancelling it after ``cap_s``)."""
    await ctx.clear_sandbox()
    before = await cpu_meter.snapshot(ctx, ctx.rabbitmq_pid)
    started = time.monotonic()
    campaign_id = await ctx.create_campaign(filters, MESSAGE)
    run = CampaignRun(campaign_id, expected)
    next_status = 0.0
    next_servers = started + SERVERS_EVERY_S
    while True:
        row = await ctx.campaign_row(campaign_id)
        now = time.monotonic()
        if row["status"] in FINAL:
            seen_wall = time.time()
            run.elapsed_s = now - started
            run.status = row["status"]
            run.complete = True
            break
        if now - started > cap_s:
            run.elapsed_s = now - started
            run.received = await ctx.sandbox_received()
            await ctx.cancel(campaign_id)
            run.status = "cancelled (time cap)"
            break
        if now >= next_servers:
            next_servers = now + SERVERS_EVERY_S
            await ctx.check_servers()
        if now >= next_status:
            next_status = now + STATUS_EVERY_S
            run.received = await ctx.sandbox_received()
            rate = run.received / (now - started)
            ctx.progress.status(
                f"{label}: campaign {campaign_id} {row['status']}, resolved"
                f" {row['total']:,}/{expected:,}, sent {run.received:,} ({rate:,.0f}/s)"
            )
        await asyncio.sleep(POLL_S)
    ctx.progress.done()
    after = await cpu_meter.snapshot(ctx, ctx.rabbitmq_pid)
    row = await ctx.campaign_row(campaign_id)
    run.messages = int(row["total"])
    run.counts = await ctx.campaign_counts(campaign_id)
    if row["started_epoch"] is not None and row["resolved_epoch"] is not None:
        run.resolve_s = row["resolved_epoch"] - row["started_epoch"]
    status, stats = await ctx.sandbox.get("/stats")
    assert status == 200, stats
    run.received = int(stats["received"])
    if run.complete and stats["last_at"] is not None:
        run.lag_s = seen_wall - float(stats["last_at"])
    run.cpu = cpu_meter.usage(before, after, run.received if not run.complete else run.messages)
    ctx.results.cpu[label] = run.cpu.to_json()
    ctx.progress.note(
        f"{label}: {run.messages:,} messages in {run.elapsed_s:.1f}s = {run.rate:,.0f} msg/s"
        + (f", resolved in {run.resolve_s:.1f}s" if run.resolve_s is not None else "")
        + (f", logger lag {run.lag_s:.2f}s" if run.lag_s is not None else "")
        + (f" [{'; '.join(run.problems())}]" if run.problems() else "")
    )
    ctx.progress.note(run.cpu.describe())
    return run
