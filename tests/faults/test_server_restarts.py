"""Restarts of the machine's RabbitMQ and Postgres mid-campaign.

These stop servers that other test runs on the machine may be using: they run last, one at a
time (see ``machine_wide`` in conftest.py), and keep each outage short. Every service must
reconnect by itself, and the API's ``/ready`` must say 503 while a dependency is down.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.faults.harness import FaultRun, ReadyProbe, run_command

pytestmark = [
    pytest.mark.slow,
    pytest.mark.faults,
    pytest.mark.e2e,
    pytest.mark.machine_wide,
    pytest.mark.timeout(300),
]

FAULT_AFTER = 1500  # messages at the gateway


def _postgres_version() -> str | None:
    root = Path("/etc/postgresql")
    versions = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    return versions[0] if versions and shutil.which("pg_ctlcluster") else None


def _ready_url(run: FaultRun) -> str:
    return f"http://127.0.0.1:{run.stack.api_port}/ready"


@pytest.mark.scenario("4 RabbitMQ restart")
@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs a local rabbitmqctl")
async def test_rabbitmq_restart(machine_wide: None, fault_run: FaultRun) -> None:
    run = fault_run
    await run.prepare()
    await run.load_leads()
    await run.start()
    seen = await run.wait_received(FAULT_AFTER)
    async with ReadyProbe(_ready_url(run)) as probe:
        stopped = time.monotonic()
        try:
            await run_command("rabbitmqctl", "stop_app")
            down = await probe.wait_status(503, within=15, since=stopped)
        finally:
            await run_command("rabbitmqctl", "start_app", within=120)
        started = time.monotonic()
        up = await probe.wait_status(200, within=60, since=started)
    outage = started - stopped
    run.note(
        f"broker stopped at {seen} received for {outage:.1f}s; /ready 200 again after"
        f" {up - started:.1f}s"
    )
    # A new campaign after the outage: every consumer and publisher is back.
    second = await run.start_lead_campaign()
    evidence = await run.finish()
    unready = [body for at, code, body in probe.answers if code == 503 and down <= at < up]
    assert unready and all(b["checks"]["broker"] != "ok" for b in unready), unready[:3]
    run.check(evidence)
    await run.check_lead_campaign(second)
    run.stop_cleanly()


@pytest.mark.scenario("5 Postgres restart")
@pytest.mark.skipif(_postgres_version() is None, reason="needs a local pg_ctlcluster")
async def test_postgres_restart(machine_wide: None, fault_run: FaultRun) -> None:
    run = fault_run
    version = _postgres_version()
    assert version is not None
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    await run.prepare()
    await run.load_leads()
    await run.start()
    seen = await run.wait_received(FAULT_AFTER)
    async with ReadyProbe(_ready_url(run)) as probe:
        stopped = time.monotonic()
        try:
            await run_command(*cluster, "stop")
            down = await probe.wait_status(503, within=15, since=stopped)
        finally:
            await run_command(*cluster, "start", within=120)
        started = time.monotonic()
        up = await probe.wait_status(200, within=60, since=started)
    outage = started - stopped
    run.note(
        f"database stopped at {seen} received for {outage:.1f}s; /ready 200 again after"
        f" {up - started:.1f}s"
    )
    # A new campaign after the outage: every consumer and publisher is back.
    second = await run.start_lead_campaign()
    evidence = await run.finish()
    unready = [body for at, code, body in probe.answers if code == 503 and down <= at < up]
    assert unready and all(b["checks"]["database"] != "ok" for b in unready), unready[:3]
    run.check(evidence)
    await run.check_lead_campaign(second)
    run.stop_cleanly()
