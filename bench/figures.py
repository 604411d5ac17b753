"""The figures of issue 6, each adding its rows to the results."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from bench import cpu, directory, procs, profiling, relay
from bench.campaigns import CampaignRun, run_campaign
from bench.context import Context
from bench.directory import MAIN_LOCATIONS, MESSAGE, PROBE, PROBE_LOCATION
from bench.report import Row
from demo.client import Api
from shared import topology

E2E_TARGET = 1_500
E2E_RATIO = 0.6
LATENCY_TARGET = 1_200
LATENCY_MS = 20
# The BulkSMS batch comparison: a slow gateway, and the rows per send_batch request.
SLOW_GATEWAY_MS = 80
BATCH_SIZE = 500
RESOLVER_RATIO = 0.8
RESOLVER_RSS_MIB = 200
LAG_TARGET_S = 2.0
PREVIEW_TARGET_MS = 300
TEST_P99_TARGET_MS = 1_000
IDLE_TARGET_PCT = 2.0
IDLE_WINDOW_S = 10.0
HTTP_REQUESTS = 5_000
HTTP_CONNECTIONS = 32
PREVIEW_FILTERS = {"status": ["active"], "partner_ids": [1], "tariff_ids": [10]}
TEST_TIMEOUT_S = 10.0
TEST_SPACING_S = 0.25
# Loads at least this big drop the secondary indexes and build them again afterwards.
REBUILD_FROM = 20_000


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 20 values is the largest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def main_filters(ctx: Context, people: int) -> dict[str, Any]:
    """Filters matching ``people`` of the end-to-end cohort (in steps of one location)."""
    parts = max(1, min(MAIN_LOCATIONS, round(people * MAIN_LOCATIONS / ctx.scale.main)))
    return {"location_ids": list(range(1, parts + 1))}


def main_people(ctx: Context, people: int) -> int:
    """How many people :func:`main_filters` really matches."""
    parts = len(main_filters(ctx, people)["location_ids"])
    return sum(
        1
        for i in range(PROBE + 1, PROBE + ctx.scale.main + 1)
        if directory.location_of(i, ctx.scale.main) <= parts
    )


# ---- 0: ceilings --------------------------------------------------------------------------


async def ceilings(ctx: Context, messages: int) -> None:
    """Bare confirm-publish and relay rates on the broker, bare HTTP to the sandbox."""
    ctx.progress.step(f"0. bare ceilings: {messages:,} messages through two quorum queues")
    before = await cpu.snapshot(ctx, ctx.rabbitmq_pid)
    measured = await relay.broker_ceiling(ctx.deployment.amqp_url, messages, ctx.progress)
    usage = cpu.usage(before, await cpu.snapshot(ctx, ctx.rabbitmq_pid), messages)
    ctx.results.cpu["0 publish+relay"] = usage.to_json()
    ctx.results.relay_per_s = measured.relay_per_s
    ctx.results.publish_per_s = measured.publish_per_s
    ctx.results.add(
        Row(
            "0a",
            "relay ceiling: consume -> confirm-publish -> ack (prefetch 500)",
            measured.relay_per_s,
            "msg/s",
            ratio=1.0,
            note=f"{messages:,} persistent msgs, quorum queues, same broker; RabbitMQ"
            f" {usage.ms_per_message.get('rabbitmq', 0):.2f} CPU ms/msg (publish + relay)",
        )
    )
    ctx.results.add(
        Row(
            "0b",
            "bare confirm-publish (1,000 in flight)",
            measured.publish_per_s,
            "msg/s",
            ratio=ctx.results.ratio(measured.publish_per_s),
        )
    )
    ctx.progress.note(
        f"relay {measured.relay_per_s:,.0f} msg/s, confirm-publish"
        f" {measured.publish_per_s:,.0f} msg/s"
    )
    http = await relay.http_ceiling(ctx.stack.sandbox_url, HTTP_REQUESTS, HTTP_CONNECTIONS)
    await ctx.clear_sandbox()
    ctx.results.add(
        Row(
            "0c",
            f"bare HTTP: aiohttp POST to the sandbox ({HTTP_CONNECTIONS} connections)",
            http,
            "req/s",
            ratio=ctx.results.ratio(http),
            note=f"{HTTP_REQUESTS:,} requests",
        )
    )
    ctx.progress.note(f"HTTP to the sandbox {http:,.0f} req/s")


# ---- loading ------------------------------------------------------------------------------


async def load_main(ctx: Context) -> None:
    """The warm-up and end-to-end cohorts: 10,000 through the API, the rest by COPY."""
    main = ctx.scale.main
    ctx.progress.step(f"loading {PROBE + main:,} customers (API batch + COPY)")
    api_batch = min(10_000, main)
    first_api = PROBE + 1
    records = [directory.record(i, main) for i in range(first_api, first_api + api_batch)]
    started = time.monotonic()
    status, body = await ctx.api.put("/customers", records)
    api_rate = api_batch / (time.monotonic() - started)
    assert status == 200, body
    ctx.results.add(
        Row(
            "L1",
            f"directory: PUT /customers, one {api_batch:,}-record call",
            api_rate,
            "rows/s",
            note="validation + upsert in one statement",
        )
    )

    def shown(done: int) -> None:
        ctx.progress.status(f"COPY {done:,}")

    ranges = [(1, PROBE)]
    if main > api_batch:
        ranges.append((first_api + api_batch, PROBE + main))
    copied_rows = sum(last - first + 1 for first, last in ranges)
    rebuild = copied_rows >= REBUILD_FROM
    copied = await directory.copy_people(
        ctx.deployment.database_url, ranges, main=main, rebuild_indexes=rebuild, on_progress=shown
    )
    ctx.progress.done()
    ctx.results.add(
        Row(
            "L2",
            "directory: COPY into people" + (", indexes rebuilt" if rebuild else ", indexes kept"),
            copied,
            "rows/s",
            note=f"{copied_rows:,} rows, then ANALYZE",
        )
    )
    ctx.progress.note(f"PUT /customers {api_rate:,.0f} rows/s, COPY {copied:,.0f} rows/s")


async def load_big(ctx: Context) -> None:
    """Fill the directory up to its big size (figures 3 and 5)."""
    first, last = PROBE + ctx.scale.main + 1, ctx.scale.directory
    if last < first:
        return
    ctx.progress.step(f"loading the directory up to {last:,} customers (COPY)")

    def shown(done: int) -> None:
        ctx.progress.status(f"COPY {done:,}/{last - first + 1:,}")

    rate = await directory.copy_people(
        ctx.deployment.database_url,
        [(first, last)],
        main=ctx.scale.main,
        rebuild_indexes=True,
        on_progress=shown,
    )
    ctx.progress.done()
    ctx.results.add(
        Row(
            "L3",
            "directory: COPY, secondary indexes rebuilt, ANALYZE",
            rate,
            "rows/s",
            note=f"{last - first + 1:,} rows, to {last:,} people",
        )
    )
    ctx.progress.note(f"COPY {rate:,.0f} rows/s including index rebuild")


# ---- 1, 2 and 4: end to end ---------------------------------------------------------------


async def warm_up(ctx: Context) -> float:
    """A small campaign through the whole pipeline; its rate sizes the rest of the run."""
    ctx.progress.step(f"warm-up campaign: {PROBE:,} people, sandbox without latency")
    run = await run_campaign(ctx, "warm-up", {"location_ids": [PROBE_LOCATION]}, PROBE, 120)
    return run.rate


class Profiles:
    """py-spy on some services while a figure runs (with ``--profile``)."""

    def __init__(self, ctx: Context, names: list[str], tag: str) -> None:
        self.ctx = ctx
        self.recorders: dict[str, profiling.Recorder] = {}
        executable = profiling.find_py_spy()
        if ctx.profile_dir is None or executable is None:
            return
        folder = Path(ctx.profile_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            output = folder / f"{tag}-{name}.txt"
            self.recorders[name] = profiling.Recorder(executable, ctx.pid(name), output)

    def finish(self, tag: str) -> None:
        for name, recorder in self.recorders.items():
            if not recorder.stop():
                self.ctx.progress.note(f"py-spy on {name} failed: see {recorder.log}")
                continue
            summary = profiling.summarise(recorder.output)
            summary["file"] = str(recorder.output)
            self.ctx.results.profiles[f"{tag}/{name}"] = summary
            self.ctx.progress.note(profiling.render(f"profile {tag}/{name}", summary))


async def end_to_end(
    ctx: Context,
    key: str,
    senders: int,
    latency_ms: float,
    max_connections: int,
    cap_s: float,
    batch_size: int = 0,
) -> CampaignRun:
    """Figures 1 and 2: one campaign of the end-to-end cohort, POST -> final status."""
    people = main_people(ctx, ctx.scale.e2e)
    way = f"send_batch of {batch_size}" if batch_size else f"{max_connections} conns"
    name = (
        f"end to end, {senders} sender{'s' if senders > 1 else ''},"
        f" gateway {latency_ms:.0f} ms, {way}"
    )
    ctx.progress.step(f"{key}. {name}: {people:,} recipients")
    await ctx.set_senders(senders)
    await ctx.configure_gateway(
        latency_ms=latency_ms, max_connections=max_connections, batch_size=batch_size
    )
    profiles = Profiles(ctx, ["sender-1", "logger"], key) if key == "1a" else None
    try:
        run = await run_campaign(ctx, key, main_filters(ctx, people), people, cap_s)
    finally:
        if profiles is not None:
            profiles.finish(key)
    target = E2E_TARGET if latency_ms == 0 else LATENCY_TARGET
    ratio = ctx.results.ratio(run.rate)
    met: bool | None = run.complete and run.rate >= target
    target_text = f">= {target:,}"
    if latency_ms == 0:
        met = met and ratio is not None and ratio >= E2E_RATIO
        target_text += f" and >= {E2E_RATIO} x relay"
    if latency_ms > LATENCY_MS:
        # The batch comparison at a slow gateway: no target of its own.
        met, target_text = None, ""
    notes = [f"{run.messages:,} msgs in {run.elapsed_s:.1f}s"]
    if run.resolve_s is not None:
        notes.append(f"resolved in {run.resolve_s:.1f}s")
    notes += run.problems()
    if profiles is not None and profiles.recorders:
        notes.append("under py-spy (sender-1, logger)")
    ctx.results.add(Row(key, name, run.rate, "msg/s", target_text, met, ratio, "; ".join(notes)))
    return run


def logger_lag(ctx: Context, runs: dict[str, CampaignRun]) -> None:
    """Figure 4a: the largest lag of the end-to-end runs, each one in the note."""
    lags = {key: run.lag_s for key, run in runs.items() if run.lag_s is not None}
    if not lags:
        return
    worst = max(lags.values())
    ctx.results.add(
        Row(
            "4a",
            "logger lag: sandbox got the last message -> campaign final",
            worst,
            "s",
            f"< {LAG_TARGET_S:g}",
            worst < LAG_TARGET_S,
            note="worst of " + ", ".join(f"{k} {v:.2f}s" for k, v in lags.items()),
        )
    )


async def logger_drain(ctx: Context) -> None:
    """Figure 4b: outcomes pile up with the logger stopped, then it drains them."""
    people = main_people(ctx, ctx.scale.logger_drain)
    ctx.progress.step(f"4b. logger throughput: {people:,} outcomes queued, then drained")
    await ctx.set_senders(1)
    await ctx.configure_gateway(latency_ms=0, max_connections=32)
    await ctx.stop("logger")
    await ctx.clear_sandbox()
    campaign_id = await ctx.create_campaign(main_filters(ctx, people), MESSAGE)
    # Outcomes travel in batches (one event per sender batch): wait until the sandbox has
    # every message and the outcome queue has stopped growing.
    deadline = time.monotonic() + 600
    last, steady = -1, 0
    while time.monotonic() < deadline:
        received = await ctx.sandbox_received()
        queued = await ctx.queue_depth(topology.OUTCOME_QUEUE)
        ctx.progress.status(f"4b: {received:,}/{people:,} sent, {queued:,} outcome events queued")
        steady = steady + 1 if queued == last else 0
        last = queued
        if received >= people and queued and steady >= 4:
            break
        await asyncio.sleep(0.5)
    ctx.progress.done()
    # Timed from the start of the process: with batched events the drain itself can take
    # less than the logger's start-up; its CPU counts from zero (imports included).
    before = await cpu.snapshot(ctx, ctx.rabbitmq_pid)
    started = time.monotonic()
    await ctx.start("logger")
    while (await ctx.campaign_row(campaign_id))["status"] not in ("sent", "sent_with_error"):
        if time.monotonic() - started > 300:
            break
        await asyncio.sleep(0.02)
    elapsed = time.monotonic() - started
    after = await cpu.snapshot(ctx, ctx.rabbitmq_pid)
    counts = await ctx.campaign_counts(campaign_id)
    written = counts.get("sent", 0) + counts.get("error", 0)
    rate = written / elapsed
    usage = cpu.usage(before, after, written)
    ctx.results.cpu["4b drain"] = usage.to_json()
    ctx.results.add(
        Row(
            "4b",
            "logger: outcomes written to the ledger (backlog drain)",
            rate,
            "rows/s",
            ratio=ctx.results.ratio(rate),
            note=f"{written:,} rows in {elapsed:.1f}s, start-up included;"
            f" logger {usage.ms_per_message.get('logger', 0):.2f} CPU ms/row",
        )
    )
    ctx.progress.note(f"4b: {written:,} rows in {elapsed:.1f}s = {rate:,.0f} rows/s")
    ctx.progress.note(usage.describe())


# ---- 6: send as test ----------------------------------------------------------------------


async def send_test_latency(ctx: Context) -> None:
    """Figure 6: POST /campaigns/test -> the sandbox has it, while a big campaign runs."""
    people = main_people(ctx, ctx.scale.e2e)
    tests = ctx.scale.tests
    ctx.progress.step(f"6. send-as-test latency: {tests} tests during a {people:,} campaign")
    await ctx.set_senders(1)
    await ctx.configure_gateway(latency_ms=0, max_connections=32)
    await ctx.clear_sandbox()
    filters = main_filters(ctx, people)
    campaign_id = await ctx.create_campaign(filters, MESSAGE)
    started = min(2_000, people // 5)
    for _ in range(600):  # sending is under way: a first share reached the sandbox
        if await ctx.sandbox_received() >= started:
            break
        await asyncio.sleep(0.1)
    latencies: list[float] = []
    during = 0
    lost = 0
    for index in range(tests):
        number = f"+2783999{index:04d}"
        sent_at = time.time()
        status, body = await ctx.api.post(
            "/campaigns/test",
            {"filters": filters, "send_to": "sms", "message": MESSAGE, "test_to": number},
        )
        assert status == 202, body
        received = await _wait_received(ctx.sandbox, number.lstrip("+"), TEST_TIMEOUT_S)
        if received is None:
            lost += 1
            latencies.append(TEST_TIMEOUT_S)
        else:
            latencies.append(received - sent_at)
        if (await ctx.campaign_row(campaign_id))["status"] == "processing":
            during += 1
        ctx.progress.status(f"6: test {index + 1}/{tests}: {latencies[-1] * 1000:,.0f} ms")
        await asyncio.sleep(TEST_SPACING_S)
    ctx.progress.done()
    # Its messages are cancelled: their jobs would only be dropped one by one by the sender.
    await ctx.cancel(campaign_id)
    await ctx.purge(topology.SMS.queue)
    await ctx.wait_quiet()
    p50 = statistics.median(latencies) * 1000
    p99 = percentile(latencies, 99) * 1000
    note = f"{tests} tests, {during} while the campaign was still processing"
    if lost:
        note += f", {lost} not received within {TEST_TIMEOUT_S:g}s"
    ctx.results.add(Row("6a", "send-as-test latency, median", p50, "ms", note=note))
    ctx.results.add(
        Row(
            "6b",
            "send-as-test latency, p99",
            p99,
            "ms",
            f"< {TEST_P99_TARGET_MS:,}",
            p99 < TEST_P99_TARGET_MS and not lost,
            note="campaign cancelled after the tests",
        )
    )
    ctx.progress.note(f"6: p50 {p50:,.0f} ms, p99 {p99:,.0f} ms ({note})")


async def _wait_received(sandbox: Api, msisdn: str, within: float) -> float | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        status, body = await sandbox.get("/messages", params={"msisdn": msisdn})
        assert status == 200, body
        if body["items"]:
            return float(body["items"][0]["received_at"])
        # Each poll scans the sandbox's list; the latency itself is its received_at.
        await asyncio.sleep(0.1)
    return None


# ---- 7: idle and memory -------------------------------------------------------------------


def memory(ctx: Context, after: str) -> None:
    """Figure 7b: resident memory of each service now, and its peak so far."""
    for name, pid in sorted(ctx.service_pids().items()):
        rss, peak = procs.rss_mib(pid), procs.peak_rss_mib(pid)
        ctx.results.add(
            Row(
                "7b",
                f"RSS of {name} after {after}",
                rss,
                "MiB",
                note=f"peak {peak:.0f} MiB" if peak is not None else "",
            )
        )
    shown = ", ".join(f"{k} {v:.0f}" for k, v in sorted(ctx.rss().items()) if v is not None)
    ctx.progress.note(f"7b: RSS MiB: {shown}")


async def idle_cpu(ctx: Context) -> None:
    """Figure 7a: CPU used by the services over a quiet window."""
    ctx.progress.step(f"7a. idle CPU over {IDLE_WINDOW_S:g}s")
    await ctx.wait_quiet()
    await asyncio.sleep(2)
    pids = ctx.service_pids()
    before = {name: procs.cpu_seconds(pid) or 0.0 for name, pid in pids.items()}
    started = time.monotonic()
    await asyncio.sleep(IDLE_WINDOW_S)
    window = time.monotonic() - started
    after = {name: procs.cpu_seconds(pid) or 0.0 for name, pid in pids.items()}
    each = {name: 100 * (after[name] - before[name]) / window for name in pids}
    total = sum(each.values())
    ctx.results.add(
        Row(
            "7a",
            "idle CPU, all services together (% of one core)",
            total,
            "%",
            f"< {IDLE_TARGET_PCT:g}",
            total < IDLE_TARGET_PCT,
            note=", ".join(f"{k} {v:.2f}" for k, v in sorted(each.items())),
        )
    )
    ctx.progress.note(f"7a: {total:.2f}% of one core")


# ---- 5: preview ---------------------------------------------------------------------------


async def preview(ctx: Context) -> None:
    """Figure 5: POST /campaigns/preview with three filters on the big directory."""
    calls = ctx.scale.previews
    ctx.progress.step(f"5. preview on {ctx.scale.directory:,} customers: {calls} calls")
    body = {"filters": PREVIEW_FILTERS, "send_to": "sms", "message": MESSAGE}
    status, answer = await ctx.api.post("/campaigns/preview", body)  # warm-up, not counted
    assert status == 200, answer
    matching = int(answer["recipients_total"])
    times: list[float] = []
    for index in range(calls):
        started = time.monotonic()
        status, answer = await ctx.api.post("/campaigns/preview", body)
        times.append((time.monotonic() - started) * 1000)
        assert status == 200, answer
        ctx.progress.status(f"5: call {index + 1}/{calls}: {times[-1]:,.0f} ms")
    ctx.progress.done()
    median, p95 = statistics.median(times), percentile(times, 95)
    note = f"{matching:,} match status+partner+tariff; count + first 50 + render"
    ctx.results.add(
        Row(
            "5a",
            "preview latency, median",
            median,
            "ms",
            f"< {PREVIEW_TARGET_MS}",
            median < PREVIEW_TARGET_MS,
            note=note,
        )
    )
    ctx.results.add(Row("5b", "preview latency, p95", p95, "ms", note=f"{calls} calls"))
    ctx.progress.note(f"5: median {median:,.0f} ms, p95 {p95:,.0f} ms ({matching:,} match)")


# ---- 3: resolver --------------------------------------------------------------------------


async def resolver(ctx: Context, cap_s: float) -> None:
    """Figure 3: the resolver alone (senders stopped) on the big directory."""
    people = ctx.scale.resolver
    ctx.progress.step(
        f"3. resolver alone: {people:,} of {ctx.scale.directory:,} customers, senders stopped"
    )
    await ctx.set_senders(0)
    # A fresh resolver, so that its peak RSS is this campaign's.
    await ctx.stop("resolver")
    await ctx.start("resolver")
    pid = ctx.pid("resolver")
    profiles = Profiles(ctx, ["resolver"], "3")
    before = await cpu.snapshot(ctx, ctx.rabbitmq_pid)
    started = time.monotonic()
    campaign_id = await ctx.create_campaign({"partner_ids": [1]}, MESSAGE)
    sampled_peak = 0.0
    complete = False
    try:
        while True:
            row = await ctx.campaign_row(campaign_id)
            sampled_peak = max(sampled_peak, procs.rss_mib(pid) or 0.0)
            elapsed = time.monotonic() - started
            if row["resolved_at"] is not None:
                complete = True
                break
            if elapsed > cap_s:
                await ctx.cancel(campaign_id)
                break
            rate = row["total"] / elapsed
            ctx.progress.status(
                f"3: {row['total']:,}/{people:,} jobs published ({rate:,.0f}/s),"
                f" resolver RSS {procs.rss_mib(pid) or 0:.0f} MiB"
            )
            await asyncio.sleep(0.5)
    finally:
        profiles.finish("3")
    ctx.progress.done()
    elapsed = time.monotonic() - started
    after = await cpu.snapshot(ctx, ctx.rabbitmq_pid)
    row = await ctx.campaign_row(campaign_id)
    jobs = int(row["total"])
    usage = cpu.usage(before, after, jobs)
    ctx.results.cpu["3 resolver"] = usage.to_json()
    ctx.progress.note(usage.describe())
    if complete and row["started_epoch"] is not None:
        seconds = row["resolved_epoch"] - row["started_epoch"]
    else:
        seconds = elapsed
    rate = jobs / seconds
    peak = procs.peak_rss_mib(pid)
    queued = await ctx.queue_depth(topology.SMS.queue)
    publish = ctx.results.publish_per_s
    met = complete and publish is not None and rate >= RESOLVER_RATIO * publish
    note = f"{jobs:,} jobs in {seconds:.1f}s (started_at -> resolved_at); {queued:,} queued;"
    note += f" resolver {usage.ms_per_message.get('resolver', 0):.2f} CPU ms/job"
    if not complete:
        note += f"; stopped at the {cap_s:.0f}s cap"
    if profiles.recorders:
        note += "; under py-spy"
    target = f">= {RESOLVER_RATIO} x publish"
    if publish is not None:
        target += f" (= {RESOLVER_RATIO * publish:,.0f})"
    ctx.results.add(
        Row(
            "3a",
            "resolver: jobs published",
            rate,
            "jobs/s",
            target,
            met,
            ctx.results.ratio(rate),
            note,
        )
    )
    ctx.results.add(
        Row(
            "3b",
            "resolver: peak RSS (VmHWM) during that campaign",
            peak,
            "MiB",
            f"< {RESOLVER_RSS_MIB}",
            peak is not None and peak < RESOLVER_RSS_MIB,
            note=f"fresh process; largest sampled VmRSS {sampled_peak:.0f} MiB",
        )
    )
    ctx.progress.note(f"3: {rate:,.0f} jobs/s, resolver peak RSS {peak or 0:.0f} MiB")
    if not complete or row["status"] == "processing":
        await ctx.cancel(campaign_id)
    purged = await ctx.purge(topology.SMS.queue)
    ctx.progress.note(f"3: campaign cancelled, {purged:,} jobs purged from {topology.SMS.queue}")
