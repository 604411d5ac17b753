"""SIGKILL of Herald's own processes mid-campaign, then a restart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.faults.harness import RECIPIENTS, FaultRun

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(300)]

KILL_AFTER = 1500  # messages at the gateway


@pytest.mark.scenario("1 senders SIGKILL")
async def test_all_senders_killed_mid_campaign(fault_run: FaultRun) -> None:
    """Jobs in the senders' hands go back to the queue; those claimed (and perhaps sent)
    wait for their lease, then go to the gateway again with the same stop_dup_id."""
    run = fault_run
    await run.prepare()
    await run.start()
    seen = await run.wait_received(KILL_AFTER)
    senders = run.senders()
    run.kill(*senders)
    run.note(f"killed {len(senders)} senders at {seen} received")
    await asyncio.sleep(1)  # the fault itself: the senders stay dead for a second
    await run.restart(*senders)
    evidence = await run.finish()
    run.check(evidence)
    run.stop_cleanly()


@pytest.mark.scenario("2 resolver SIGKILL")
@pytest.mark.stack_env(HERALD_RESOLVER_BATCH_SIZE=200)
async def test_resolver_killed_mid_resolution(fault_run: FaultRun) -> None:
    """The resolve event goes back to the queue; the new resolver resumes at the cursor and
    the replayed batch creates no second ledger row."""
    run = fault_run
    await run.prepare()
    await run.start()
    view: dict[str, Any] = {}

    async def resolving() -> bool:
        nonlocal view
        view = await run.campaign()
        return int(view.get("total") or 0) > 0 or view.get("resolved_at") is not None

    await run.wait_for("the first resolved batch", resolving, within=30, interval=0.01)
    assert view.get("resolved_at") is None, f"resolved before it could be killed: {view}"
    run.kill("resolver")
    after = await run.campaign()
    assert after["resolved_at"] is None, after
    run.note(f"killed the resolver at total {after['total']} of {RECIPIENTS}")
    await asyncio.sleep(1)  # the fault itself: the resolver stays dead for a second
    await run.restart("resolver")
    evidence = await run.finish()
    run.check(evidence)
    run.stop_cleanly()


@pytest.mark.scenario("3 logger SIGKILL")
async def test_logger_killed_mid_campaign(fault_run: FaultRun) -> None:
    """Outcomes wait in their queue (unacked ones are redelivered) until a logger is back."""
    run = fault_run
    await run.prepare()
    await run.start()
    seen = await run.wait_received(KILL_AFTER)
    run.kill("logger")
    run.note(f"killed the logger at {seen} received")
    await asyncio.sleep(3)  # the fault itself: outcomes pile up while no logger runs
    await run.restart("logger")
    evidence = await run.finish()
    run.check(evidence)
    run.stop_cleanly()
