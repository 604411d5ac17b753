"""``python -m bench``: the whole stack in a fresh database and vhost, the figures of issue 6,
one table (also written as JSON), and everything stopped and dropped at the end."""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TypeVar

from bench import cpu, figures, procs, profiling
from bench.campaigns import CampaignRun
from bench.context import Context, Scale, ServersRestarted, open_broker
from bench.directory import MAIN_LOCATIONS
from bench.infra import Deployment
from bench.progress import Progress
from bench.report import Results, cpu_table, table
from demo.client import Api
from demo.stack import Stack
from shared import db

T = TypeVar("T")
FIGURES = ("e2e", "latency", "batch", "resolver", "logger", "preview", "test", "idle")
DESCRIPTIONS = {
    "e2e": "1: end to end, 1 and 2 senders, sandbox without latency",
    "latency": "2: end to end with 20 ms of gateway latency, 64 connections",
    "batch": "1c-1d, 2c-2e: BulkSMS send_batch without latency, and at 20 and 80 ms",
    "resolver": "3: the resolver alone on the big directory",
    "logger": "4: logger lag and logger throughput",
    "preview": "5: preview latency on the big directory",
    "test": "6: send-as-test latency during a campaign",
    "idle": "7: idle CPU and memory of the services",
}
# The sizes, and --quick's.
FULL = Scale(
    e2e=100_000,
    main=100_000,
    directory=1_000_000,
    resolver=500_000,
    logger_drain=50_000,
    tests=20,
    previews=30,
)
QUICK = Scale(
    e2e=10_000,
    main=10_000,
    directory=100_000,
    resolver=50_000,
    logger_drain=10_000,
    tests=20,
    previews=30,
)
RELAY_MESSAGES = 10_000
# The whole run should end within this; campaigns are sized (and capped) to fit.
DEFAULT_BUDGET_S = 570
# COPY with the index rebuild, on a busy 2-core machine.
LOAD_ROWS_PER_S = 15_000
# At most this long for the resolver figure when sizing the rest (it stops at the budget).
RESOLVER_SHARE_S = 120.0
# Campaigns are sized for this share of the warm-up's rate.
PLANNING_FACTOR = 0.6
# The logger drain (figure 4b) writes at least this many outcomes.
MIN_DRAIN = 5_000


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        epilog="figures: " + "; ".join(f"{k} = {v}" for k, v in DESCRIPTIONS.items()),
    )
    parser.add_argument(
        "--quick", action="store_true", help="10,000-recipient campaigns, 100,000 directory"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only these figures (repeat or comma-separate); the ceilings always run",
    )
    parser.add_argument(
        "--json", default="bench-results.json", type=Path, help="where to write the results"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET_S,
        help=f"seconds the whole run should take at most (default {DEFAULT_BUDGET_S})",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="record py-spy profiles of sender-1 and logger (figure 1a) and of the resolver"
        " (figure 3) into DIR (needs py-spy installed)",
    )
    args = parser.parse_args(argv)
    only = {name.strip() for value in args.only for name in value.split(",") if name.strip()}
    unknown = only - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure {', '.join(sorted(unknown))}; choose from {FIGURES}")
    args.figures = [f for f in FIGURES if not only or f in only]
    if args.profile and profiling.find_py_spy() is None:
        parser.error("--profile needs py-spy: .venv/bin/pip install py-spy")
    return args


def _copy(scale: Scale) -> Scale:
    return Scale(**{**scale.__dict__, "reasons": list(scale.reasons)})


def size_campaigns(
    scale: Scale, selected: list[str], rate: float, remaining_s: float
) -> tuple[Scale, float]:
    """Shrink the end-to-end campaigns to fit the time left; returns the scale and the cap of
    each campaign. ``rate`` is the warm-up's throughput (msg/s)."""
    scale = _copy(scale)
    runs = 2 * (("e2e" in selected) + ("latency" in selected)) + 5 * ("batch" in selected)
    drain = scale.logger_drain if "logger" in selected else 0
    # What the figures after the end-to-end campaigns take, roughly (measured on a busy
    # 2-core machine): the send-as-test campaign, the idle window, the big load (COPY and
    # index rebuild), the previews, and a share for the resolver (it is capped anyway).
    later = 15.0 + 50.0 * ("test" in selected) + 15.0 * ("idle" in selected)
    if {"resolver", "preview"} & set(selected):
        later += (scale.directory - scale.main) / LOAD_ROWS_PER_S
    later += 15.0 * ("preview" in selected)
    later += min(RESOLVER_SHARE_S, scale.resolver / 1000) * ("resolver" in selected)
    available = remaining_s - later
    # The warm-up is small and runs alone: the big runs go slower (resolver and senders
    # compete for the CPU), so plan with a margin.
    rate *= PLANNING_FACTOR
    # Each run sends e2e messages; the drain sends its own, then writes them again.
    needed = (runs * scale.e2e + 1.5 * drain) / max(rate, 1.0)
    if runs and needed > available:
        step = scale.main // MAIN_LOCATIONS
        wanted = int(scale.e2e * max(available, 0) / needed)
        e2e = max(step, wanted // step * step)
        if e2e < scale.e2e:
            scale.reasons.append(
                f"end-to-end campaigns cut from {scale.e2e:,} to {e2e:,} recipients to fit"
                f" the {remaining_s:.0f}s left of the time budget (the warm-up ran at"
                f" {rate / PLANNING_FACTOR:,.0f} msg/s)"
            )
            scale.e2e = e2e
            scale.logger_drain = min(scale.logger_drain, max(MIN_DRAIN, e2e // 2))
    return scale, max(60.0, 3 * scale.e2e / max(rate, 1.0))


async def run(
    args: argparse.Namespace, deployment: Deployment, stack: Stack, results: Results
) -> None:
    progress = Progress()
    results.machine = procs.machine()
    started = time.monotonic()
    results.run = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "figures": args.figures,
        "load_average_start": procs.load_average(),
        "deployment": deployment.name,
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes_in_services_shared": bool(
            _git("status", "--porcelain", "--", "services", "shared")
        ),
        "logs": str(stack.log_dir),
    }
    scale = _copy(QUICK if args.quick else FULL)
    progress.step(
        f"bench {results.run['mode']}: database and vhost {deployment.name},"
        f" load average {procs.load_average()[0]:.2f}"
    )
    await deployment.create()
    progress.step(f"starting the sandbox and the services (logs in {stack.log_dir})")
    api = Api(stack.api_url, stack.token)
    sandbox = Api(stack.sandbox_url + "/_sandbox", None)
    pool = await db.create_pool(deployment.database_url, min_size=1, max_size=2)
    broker = await open_broker(deployment.amqp_url)
    ctx = Context(
        stack=stack,
        deployment=deployment,
        progress=progress,
        results=results,
        scale=scale,
        api=api,
        sandbox=sandbox,
        pool=pool,
        broker=broker,
        profile_dir=args.profile,
    )
    try:
        await ctx.check_servers()
        await asyncio.to_thread(stack.start_all, 1)
        await _figures(ctx, args, started)
    except ServersRestarted as exc:
        progress.done()
        results.notes.append(
            f"the run was stopped: {exc} (by another user of this machine?); the figures"
            " measured so far are shown, rerun when the servers are left alone"
        )
    except Exception:
        progress.done()
        failure = traceback.format_exc()
        print(failure, file=sys.stderr, flush=True)
        results.notes.append("the run failed: " + failure.strip().splitlines()[-1][:300])
    finally:
        try:
            await ctx.check_servers()
        except ServersRestarted as exc:
            if not any("was stopped" in note for note in results.notes):
                results.notes.append(f"{exc}: the figures may include a recovery, rerun")
        results.run["duration_s"] = round(time.monotonic() - started, 1)
        results.run["load_average_end"] = procs.load_average()
        results.run["scale"] = {k: v for k, v in ctx.scale.__dict__.items() if k != "reasons"}
        results.notes = ctx.scale.reasons + results.notes
        await api.close()
        await sandbox.close()
        await broker.close()
        await pool.close()


async def _figures(ctx: Context, args: argparse.Namespace, started: float) -> None:
    selected: list[str] = args.figures

    async def checked(step: Awaitable[T]) -> T:
        # Each figure is only valid if nobody restarted the servers under it.
        value = await step
        await ctx.check_servers()
        return value

    await checked(figures.ceilings(ctx, RELAY_MESSAGES))
    await checked(figures.load_main(ctx))
    await ctx.configure_gateway(latency_ms=0, max_connections=32)
    cap = 600.0
    if {"e2e", "latency", "logger", "test", "idle"} & set(selected):
        rate = await checked(figures.warm_up(ctx))
        remaining = args.budget - (time.monotonic() - started)
        ctx.scale, cap = size_campaigns(ctx.scale, selected, rate, remaining)
        for reason in ctx.scale.reasons:
            ctx.progress.note(reason)
    runs: dict[str, CampaignRun] = {}
    if "e2e" in selected:
        runs["1a"] = await checked(figures.end_to_end(ctx, "1a", 1, 0, 32, cap))
        runs["1b"] = await checked(figures.end_to_end(ctx, "1b", 2, 0, 32, cap))
    if "latency" in selected:
        runs["2b"] = await checked(figures.end_to_end(ctx, "2b", 2, 20, 64, cap))
        runs["2a"] = await checked(figures.end_to_end(ctx, "2a", 1, 20, 64, cap))
    if "batch" in selected:
        batch, slow = figures.BATCH_SIZE, figures.SLOW_GATEWAY_MS
        runs["1c"] = await checked(figures.end_to_end(ctx, "1c", 1, 0, 32, cap, batch))
        runs["1d"] = await checked(figures.end_to_end(ctx, "1d", 2, 0, 32, cap, batch))
        runs["2c"] = await checked(figures.end_to_end(ctx, "2c", 1, 20, 64, cap, batch))
        runs["2d"] = await checked(figures.end_to_end(ctx, "2d", 1, slow, 64, cap))
        runs["2e"] = await checked(figures.end_to_end(ctx, "2e", 1, slow, 64, cap, batch))
    if runs:
        figures.memory(ctx, f"the {ctx.scale.e2e:,} campaigns")
    if "logger" in selected:
        figures.logger_lag(ctx, runs)
        await checked(figures.logger_drain(ctx))
    if "test" in selected:
        await checked(figures.send_test_latency(ctx))
    if "idle" in selected:
        await ctx.set_senders(1)
        await checked(figures.idle_cpu(ctx))
        if not runs:
            figures.memory(ctx, "the run so far")
    if {"resolver", "preview"} & set(selected):
        await checked(figures.load_big(ctx))
    if "preview" in selected:
        await checked(figures.preview(ctx))
    if "resolver" in selected:
        remaining = args.budget - (time.monotonic() - started)
        await checked(figures.resolver(ctx, cap_s=max(30.0, remaining - 15)))
    ctx.results.rows.sort(key=lambda row: (not row.key[0].isdigit(), row.key))


def _describe_scale(results: Results, quick: bool) -> str:
    scale = results.run.get("scale", {})
    if not scale:
        return ""
    full = FULL.__dict__
    parts = [
        f"end-to-end campaigns {scale['e2e']:,}",
        f"directory {scale['directory']:,}",
        f"resolver campaign {scale['resolver']:,}",
        f"logger drain {scale['logger_drain']:,}",
    ]
    smaller = [k for k in ("e2e", "directory", "resolver") if scale[k] < full[k]]
    why = " (--quick)" if quick else " (scaled down to the time budget)" if smaller else ""
    return "sizes: " + ", ".join(parts) + (why if smaller else " (the issue's sizes)")


def print_report(results: Results, quick: bool) -> None:
    machine = results.machine
    run = results.run
    print()
    print(
        f"Herald benchmark, {run.get('mode')} run, {run.get('started_at')},"
        f" {run.get('duration_s')}s; {machine.get('nproc')} x {machine.get('cpu_model')},"
        f" {machine.get('ram_gib')} GiB RAM"
    )
    start, end = run.get("load_average_start"), run.get("load_average_end")
    if start and end:
        print(
            f"load average at start {start[0]:.2f} / {start[1]:.2f} / {start[2]:.2f},"
            f" at end {end[0]:.2f} / {end[1]:.2f} / {end[2]:.2f}"
        )
    described = _describe_scale(results, quick)
    if described:
        print(described)
    print()
    print(table(results))
    for note in results.notes:
        print(f"note: {note}")
    if results.cpu:
        print()
        print("CPU milliseconds per message (RabbitMQ: the whole broker, other users included):")
        print(cpu_table(results, cpu.COMPONENTS))
    for name, summary in results.profiles.items():
        print()
        print(profiling.render(f"profile {name}", summary))


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


class Terminated(KeyboardInterrupt):
    """SIGTERM: only this process was told to stop, not its children."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _await_exit(stack: Stack, within: float) -> None:
    """Give the processes a Ctrl-C reached too the time to stop on their own."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all(process.poll() is not None for process in stack.processes.values()):
            return
        time.sleep(0.1)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    deployment = Deployment.fresh()
    log_dir = Path(tempfile.mkdtemp(prefix="herald-bench-"))
    stack = Stack(deployment.database_url, deployment.amqp_url, log_dir, token="bench-token")
    signal.signal(signal.SIGTERM, _terminate)
    results = Results()
    interrupted = False
    try:
        asyncio.run(run(args, deployment, stack, results))
    except KeyboardInterrupt as exc:
        interrupted = True
        print("\nbench: interrupted; stopping everything", flush=True)
        if not isinstance(exc, Terminated):
            _await_exit(stack, 10)
    finally:
        # A second Ctrl-C must not leave processes, a database or a vhost behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        codes = stack.stop_all()
        asyncio.run(deployment.drop())
        bad = {name: code for name, code in codes.items() if code not in (0, None)}
        if bad and not interrupted:
            print(f"bench: processes exited with {bad}; logs in {log_dir}", flush=True)
    results.run["stopped"] = codes
    if interrupted:
        results.notes.append("interrupted: only the figures measured before are shown")
    if not results.rows and interrupted:
        return 130
    print_report(results, args.quick)
    results.write_json(args.json)
    print(f"\nresults written to {args.json}; process logs in {log_dir}")
    if interrupted:
        return 130
    failed = any(note.startswith("the run failed") for note in results.notes)
    return 1 if failed or bad else 0


if __name__ == "__main__":
    sys.exit(main())
