"""Gateway faults: none at all (the control run), timeouts, HTTP 500s."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.faults.harness import GATEWAY_TIMEOUT_S, FaultRun

pytestmark = [pytest.mark.slow, pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(300)]

FAULT_AFTER = 1500  # messages at the gateway
HANG_FOR_S = 3.0


@pytest.mark.scenario("0 baseline (no fault)")
async def test_baseline(fault_run: FaultRun) -> None:
    run = fault_run
    await run.prepare()
    await run.start()
    evidence = await run.finish()
    run.check(evidence)
    assert evidence.stats["duplicates_suppressed"] == 0
    run.stop_cleanly()


@pytest.mark.scenario("6 gateway timeouts")
async def test_gateway_timeouts(fault_run: FaultRun) -> None:
    """While the gateway hangs past the client's timeout, each call is recorded by the gateway
    but answered too late: the sender retries with the same stop_dup_id, which the gateway
    suppresses."""
    run = fault_run
    await run.prepare(timeout_seconds=GATEWAY_TIMEOUT_S)
    await run.start()
    await run.wait_received(FAULT_AFTER)
    hang_ms = GATEWAY_TIMEOUT_S * 1000 + 500
    status, body = await run.sandbox.put("/config", {"hang_ms": hang_ms})
    assert status == 200, body
    hang_from = time.time()  # the sandbox stamps recordings with the same clock
    await asyncio.sleep(HANG_FOR_S)  # the fault itself: the gateway hangs this long
    hang_to = time.time()
    status, body = await run.sandbox.put("/config", {"hang_ms": 0})
    assert status == 200, body
    status, messages = await run.sandbox.get("/messages", params={"limit": 1_000_000})
    # Recorded between the two switches: answered only after the sender's timeout.
    hung = {
        m["stop_dup_id"]: m for m in messages["items"] if hang_from <= m["received_at"] <= hang_to
    }
    during = len(hung)
    run.note(f"hang {hang_ms:.0f} ms for {HANG_FOR_S:.0f}s: {during} recorded meanwhile")
    evidence = await run.finish()
    run.check(evidence)
    assert during > 0
    # Every message recorded during the hang timed out and was submitted again.
    assert evidence.stats["duplicates_suppressed"] >= during, evidence.stats
    # ... with the same stop_dup_id (the ledger id), and the log keeps the first batch id.
    ledger = await run.ledger(list(hung))
    assert set(ledger) == set(hung)
    once = [i for i, row in ledger.items() if row["attempts"] < 2]
    assert not once, f"{len(once)} hung messages were not submitted again: {once[:5]}"
    batch = [i for i, row in ledger.items() if row["batch_id"] != str(hung[i]["batch_id"])]
    assert not batch, [(ledger[i], hung[i]) for i in batch[:3]]
    run.stop_cleanly()


@pytest.mark.scenario("7 gateway HTTP 500s")
async def test_gateway_http_500s(fault_run: FaultRun) -> None:
    """The first 500 submissions answer HTTP 500: transient, retried through the broker."""
    run = fault_run
    await run.prepare()
    status, body = await run.sandbox.put(
        "/config", {"fail_first": {"count": 500, "http_status": 500}}
    )
    assert status == 200, body
    await run.start()
    evidence = await run.finish()
    run.note(f"{evidence.stats['rejected']} rejected")
    run.check(evidence)
    assert evidence.stats["rejected"] == 500, evidence.stats
    assert max(evidence.attempts) >= 2, evidence.attempts
    run.stop_cleanly()
