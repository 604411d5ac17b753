"""A long database outage that only this stack sees: its Postgres connections go through a
relay (``db_proxy``) that the scenario cuts, then restores.

While the database is away, every job a sender holds fails and goes back to its queue; the
work queues' delivery limit (topology.DELIVERY_LIMIT = 20) must not turn an outage into
"poison" and drop healthy jobs. The relay is restored as soon as a first message reaches the
dead-letter queue, or after MAX_OUTAGE_S.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.harness import FaultRun, ReadyProbe, dead_letters

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(480)]

FAULT_AFTER = 1500  # messages at the gateway
MAX_OUTAGE_S = 90.0
# As many gateway connections as jobs in hand (prefetch 200): every job a sender holds is
# tried, and handed back, over and over while the database is away.
MAX_CONNECTIONS = 200


@pytest.mark.scenario("8 Postgres unreachable ~1 min (this stack only)")
@pytest.mark.db_proxy
async def test_database_unreachable_for_a_minute(fault_run: FaultRun) -> None:
    run = fault_run
    assert run.db_proxy is not None
    await run.prepare(max_connections=MAX_CONNECTIONS)
    await run.start()
    seen = await run.wait_received(FAULT_AFTER)
    async with ReadyProbe(f"http://127.0.0.1:{run.stack.api_port}/ready") as probe:
        cut = time.monotonic()
        run.db_proxy.cut()
        try:
            await probe.wait_status(503, within=15, since=cut)
            while time.monotonic() - cut < MAX_OUTAGE_S:
                if await asyncio.to_thread(dead_letters, run.stack.amqp_url):
                    break
                await asyncio.sleep(2)  # the outage goes on: look for dead letters now and then
        finally:
            run.db_proxy.restore()
        restored = time.monotonic()
        up = await probe.wait_status(200, within=60, since=restored)
    run.note(
        f"max_connections {MAX_CONNECTIONS}; database cut at {seen} received"
        f" for {restored - cut:.0f}s; /ready 200 again after {up - restored:.1f}s"
    )
    evidence = await run.finish(within=60)
    run.check(evidence)
    run.stop_cleanly()
