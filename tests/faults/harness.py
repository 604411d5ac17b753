"""The fault-injection harness: one 5,000-recipient campaign, a fault, and the same checks.

Every scenario loads 5,000 customers with one number each, points the SMS configuration at
the sandbox gateway (with a short ``timeout_seconds``, so that claim leases of
``timeout_seconds + 15 s`` expire quickly), starts the campaign, injects its fault and then
checks the delivery guarantees of the README:

- every recipient has exactly one ledger row, in a final state (here: all ``sent``);
- the set of numbers the gateway recorded is exactly the set expected;
- no number was recorded twice (a second SMS that got past ``stop_dup_id``);
- the campaign's counts in the API equal the SMS log's totals per status.

A :class:`Summary` line is recorded for every scenario (also when a check fails) and printed at
the end of the run by ``tests/faults/conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp
import asyncpg

from demo.client import Api, sandbox_sms_config
from demo.stack import Stack
from tests.support.eventually import eventually

RECIPIENTS = 5000
SENDERS = 2
# The SMS config's gateway timeout; the sender's claim lease is this + 15 s.
GATEWAY_TIMEOUT_S = 1.0
# How long a campaign may take to finish once its fault was injected.
CAMPAIGN_BUDGET_S = 90.0
MESSAGE = "Hello {{ customer.full_name }}"
FINAL = ("sent", "error", "expired", "cancelled", "skipped")
LOG_STATUSES = ("new", "sending", "sent", "error", "expired", "cancelled", "skipped")

SUMMARIES: list[Summary] = []


def msisdn(i: int) -> str:
    return f"2782{i:07d}"


def customers(count: int = RECIPIENTS) -> list[dict[str, Any]]:
    """Active customers, one valid number each."""
    return [
        {
            "id": i,
            "login": f"{i:06d}",
            "status": "active",
            "full_name": f"Person {i}",
            "phone": f"+{msisdn(i)}",
        }
        for i in range(1, count + 1)
    ]


@dataclass
class Summary:
    """One line of the suite's table."""

    scenario: str
    duration_s: float = 0.0
    received: int = 0
    unique: int = 0
    duplicates_past: int = 0
    duplicates_suppressed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    status: str = ""
    notes: list[str] = field(default_factory=list)
    result: str = ""  # the test's outcome: passed, failed, xfailed (a known bug)...

    def line(self) -> str:
        counts = ",".join(f"{k}={v}" for k, v in sorted(self.counts.items())) or "-"
        return (
            f"scenario={self.scenario} duration={self.duration_s:.1f}s received={self.received}"
            f" unique={self.unique} duplicates_past_stop_dup_id={self.duplicates_past}"
            f" duplicates_suppressed={self.duplicates_suppressed} campaign={self.status}"
            f" counts={counts} result={self.result or '-'}"
            + (f" notes={'; '.join(self.notes)}" if self.notes else "")
        )

    def row(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "-"
        return (
            f"| {self.scenario} | {self.duration_s:.1f} | {self.received} | {self.unique}"
            f" | {self.duplicates_past} | {self.duplicates_suppressed} | {self.status}"
            f" | {counts} | {self.result or '-'} | {'; '.join(self.notes)} |"
        )


TABLE_HEADER = (
    "| scenario | duration (s) | received | unique | duplicates past stop_dup_id"
    " | duplicates_suppressed | campaign | final counts | result | notes |\n"
    "|---|---:|---:|---:|---:|---:|---|---|---|---|"
)


@dataclass
class Evidence:
    """What the checks compare, gathered once the campaign is final (or the budget ran out)."""

    campaign: dict[str, Any]
    recipients: list[dict[str, Any]]
    log_total: int
    log_totals: dict[str, int]
    received: Counter[str]
    expected: set[str]
    stats: dict[str, Any]
    attempts: dict[int, int]
    dead_letters: int  # in the dead-letter queue or the table the logger moves them to
    finished: bool


class FaultRun:
    """One scenario against one stack: set up, start, inject, finish, check."""

    def __init__(
        self,
        name: str,
        stack: Stack,
        api: Api,
        sandbox: Api,
        *,
        database_url: str | None = None,
        db_proxy: TcpProxy | None = None,
    ) -> None:
        self.name = name
        self.stack = stack
        self.api = api
        self.sandbox = sandbox
        # The test's own queries go straight to Postgres, never through the proxy it cuts.
        self.database_url = database_url or stack.database_url
        self.db_proxy = db_proxy
        self.summary = Summary(name)
        SUMMARIES.append(self.summary)
        self.campaign_id = 0
        self.started = 0.0
        self.leads: set[str] = set()
        self.dead_reasons: dict[str, int] = {}

    # -- set-up -------------------------------------------------------------------------

    async def prepare(self, **sms: Any) -> None:
        """Load the customers and configure the gateway (``sms`` overrides the config)."""
        status, body = await self.api.put("/customers", customers())
        assert status == 200 and body == {"upserted": RECIPIENTS}, body
        config = sandbox_sms_config(
            self.stack.sandbox_url, **{"timeout_seconds": GATEWAY_TIMEOUT_S, **sms}
        )
        status, body = await self.api.put("/config/sms", config)
        assert status == 200, body

    async def load_leads(self, count: int = 3) -> None:
        """A few leads (numbers apart from the customers') for a second, small campaign."""
        numbers = {i: f"2783{i:07d}" for i in range(1, count + 1)}
        leads = [
            {"id": i, "full_name": f"Lead {i}", "status": "active", "phone": f"+{number}"}
            for i, number in numbers.items()
        ]
        status, body = await self.api.put("/leads", leads)
        assert status == 200, body
        self.leads = set(numbers.values())

    async def start_lead_campaign(self) -> int:
        """A campaign to the leads: it needs the API's outbox relay, the resolver, a sender and
        the logger all consuming and publishing again (after an outage)."""
        status, body = await self.api.post(
            "/campaigns", {"recipient_type": "lead", "send_to": "sms", "message": MESSAGE}
        )
        assert status == 202, body
        return int(body["id"])

    async def check_lead_campaign(self, campaign_id: int) -> None:
        done = await self.api.wait_campaign(campaign_id, within=30)
        assert done["status"] == "sent" and done["counts"] == {"sent": len(self.leads)}, done

    async def start(self) -> int:
        status, body = await self.api.post("/campaigns", {"send_to": "sms", "message": MESSAGE})
        assert status == 202, body
        self.started = time.monotonic()
        self.campaign_id = int(body["id"])
        return self.campaign_id

    # -- observation ----------------------------------------------------------------------

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def note(self, text: str) -> None:
        self.summary.notes.append(text)

    async def stats(self) -> dict[str, Any]:
        status, body = await self.sandbox.get("/stats")
        assert status == 200, body
        return dict(body)

    async def campaign(self) -> dict[str, Any]:
        status, body = await self.api.get(f"/campaigns/{self.campaign_id}")
        assert status == 200, body
        return dict(body)

    async def wait_for(
        self,
        what: str,
        probe: Callable[[], Awaitable[bool]],
        within: float = 60,
        interval: float = 0.1,
    ) -> None:
        await eventually(probe, timeout=within, interval=interval, what=f"{self.name}: {what}")

    async def wait_received(self, count: int, within: float = 60) -> int:
        """Wait until the gateway recorded ``count`` messages; how many it had then."""
        seen = 0

        async def enough() -> bool:
            nonlocal seen
            seen = int((await self.stats())["received"])
            return seen >= count

        try:
            await self.wait_for(f"{count} messages at the gateway", enough, within, 0.05)
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}: {seen} received; campaign {await self.campaign()}\n"
                f"{problems_in_logs(self.stack)}"
            ) from None
        return seen

    # -- faults on processes ----------------------------------------------------------------

    def senders(self) -> list[str]:
        return sorted(n for n in self.stack.processes if n.startswith("sender"))

    def kill(self, *names: str) -> None:
        for name in names:
            self.stack.kill(name)

    async def restart(self, *names: str) -> None:
        """Start processes again and wait until each is ready."""
        for name in names:
            self.stack.start(name, wait=False)
        for name in names:
            await asyncio.to_thread(
                self.stack.wait_for_line, name, f"{name.split('-', 1)[0]} ready:", 60
            )

    # -- the end ------------------------------------------------------------------------------

    async def finish(self, within: float = CAMPAIGN_BUDGET_S) -> Evidence:
        """Wait for the campaign to end, gather the evidence and fill in the summary line."""
        finished = True
        try:
            await self.api.wait_campaign(self.campaign_id, within=within)
        except TimeoutError:
            finished = False
        self.summary.duration_s = self.elapsed()
        if finished:
            # Calls already under way when the last outcome was written would show up now.
            await asyncio.sleep(1.0)
        evidence = await self.gather(finished)
        summary = self.summary
        # The table counts this campaign's numbers; the leads' (if any) are noted apart.
        ours = {k: n for k, n in evidence.received.items() if k not in self.leads}
        summary.received = sum(ours.values())
        summary.unique = len(ours)
        summary.duplicates_past = sum(n - 1 for n in evidence.received.values() if n > 1)
        if self.leads:
            leads = sum(n for k, n in evidence.received.items() if k in self.leads)
            summary.notes.append(f"{leads} SMS of a {len(self.leads)}-lead campaign after it")
        summary.duplicates_suppressed = int(evidence.stats["duplicates_suppressed"])
        summary.counts = dict(evidence.campaign.get("counts") or {})
        summary.status = str(evidence.campaign["status"])
        if not finished:
            summary.notes.append(f"not final after {within:.0f}s")
        if evidence.attempts:
            summary.notes.append(f"max attempts {max(evidence.attempts)}")
        if evidence.dead_letters:
            reasons = ", ".join(f"{n}: {why}" for why, n in self.dead_reasons.items())
            summary.notes.append(f"{evidence.dead_letters} dead-lettered ({reasons})")
        print("\n" + summary.line())
        return evidence

    async def gather(self, finished: bool) -> Evidence:
        campaign = await self.campaign()
        recipients: list[dict[str, Any]] = []
        while True:
            status, body = await self.api.get(
                f"/campaigns/{self.campaign_id}/recipients",
                params={"limit": 1000, "offset": len(recipients)},
            )
            assert status == 200, body
            recipients += body["items"]
            if not body["items"] or len(recipients) >= body["total"]:
                break
        status, log = await self.api.get(
            "/logs/sms", params={"campaign_id": self.campaign_id, "limit": 1}
        )
        assert status == 200, log
        log_totals = {}
        for state in LOG_STATUSES:
            status, body = await self.api.get(
                "/logs/sms", params={"campaign_id": self.campaign_id, "status": state, "limit": 1}
            )
            assert status == 200, body
            if body["total"]:
                log_totals[state] = int(body["total"])
        status, messages = await self.sandbox.get("/messages", params={"limit": 1_000_000})
        assert status == 200, messages
        attempts, dead_rows = await self.from_database()
        return Evidence(
            campaign=campaign,
            recipients=recipients,
            log_total=int(log["total"]),
            log_totals=log_totals,
            received=Counter(m["msisdn"] for m in messages["items"]),
            expected={msisdn(i) for i in range(1, RECIPIENTS + 1)} | self.leads,
            stats=await self.stats(),
            attempts=attempts,
            dead_letters=(dead_letters(self.stack.amqp_url) or 0) + dead_rows,
            finished=finished,
        )

    async def from_database(self) -> tuple[dict[int, int], int]:
        """Gateway calls per message (attempts -> messages) and the rows of the dead-letter
        table where the logger keeps dead letters (diagnostics)."""
        try:
            conn = await asyncpg.connect(self.database_url, timeout=5)
        except (OSError, asyncpg.PostgresError):
            return {}, 0
        try:
            rows = await conn.fetch(
                "SELECT attempts, count(*) AS n FROM messages WHERE campaign_id = $1 GROUP BY 1",
                self.campaign_id,
            )
            dead = 0
            if await conn.fetchval("SELECT to_regclass('dead_letters') IS NOT NULL"):
                for row in await conn.fetch(
                    "SELECT source, reason, count(*) AS n FROM dead_letters GROUP BY 1, 2"
                ):
                    dead += int(row["n"])
                    self.dead_reasons[f"{row['source']}: {row['reason']}"] = int(row["n"])
        finally:
            await conn.close()
        return {int(r["attempts"]): int(r["n"]) for r in rows}, dead

    async def ledger(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        """Ledger rows by id (attempts, status, batch id), read straight from the database."""
        conn = await asyncpg.connect(self.database_url, timeout=5)
        try:
            rows = await conn.fetch(
                "SELECT id, status, attempts, batch_id FROM messages WHERE id = ANY($1::bigint[])",
                ids,
            )
        finally:
            await conn.close()
        return {int(r["id"]): dict(r.items()) for r in rows}

    def check(self, evidence: Evidence) -> None:
        """The delivery guarantees, each failure naming its evidence."""
        e = evidence
        assert e.finished, (
            f"campaign not final: {e.campaign}\ndead letters: {self.dead_reasons}\n"
            f"{problems_in_logs(self.stack)}"
        )
        ids = Counter(r["id"] for r in e.recipients)
        assert len(e.recipients) == RECIPIENTS, f"{len(e.recipients)} ledger rows"
        assert set(ids) == set(range(1, RECIPIENTS + 1)) and max(ids.values()) == 1, (
            f"each recipient exactly once: {[(k, n) for k, n in ids.items() if n > 1][:10]}"
        )
        not_final = [r for r in e.recipients if r["status"] not in FINAL]
        assert not not_final, f"{len(not_final)} not final, e.g. {not_final[:3]}"
        assert e.campaign["status"] == "sent", e.campaign
        assert e.campaign["counts"] == {"sent": RECIPIENTS}, e.campaign["counts"]
        assert e.campaign["total"] == RECIPIENTS, e.campaign
        # The API's counts equal the SMS log's totals.
        assert e.log_total == RECIPIENTS, e.log_total
        assert e.log_totals == e.campaign["counts"], (e.log_totals, e.campaign["counts"])
        # The gateway: every expected number, each once.
        missing = e.expected - set(e.received)
        extra = set(e.received) - e.expected
        assert not missing and not extra, (
            f"{len(missing)} missing, e.g. {sorted(missing)[:5]};"
            f" {len(extra)} unexpected, e.g. {sorted(extra)[:5]}"
        )
        doubles = {k: n for k, n in e.received.items() if n > 1}
        assert not doubles, (
            f"{sum(n - 1 for n in doubles.values())} second SMS past stop_dup_id,"
            f" e.g. {sorted(doubles.items())[:5]}"
        )
        assert e.dead_letters == 0, f"{e.dead_letters} dead-lettered: {self.dead_reasons}"

    def stop_cleanly(self) -> None:
        """Whatever happened, every process still stops cleanly (exit 0) on SIGTERM."""
        codes = self.stack.stop_all()
        assert all(code == 0 for code in codes.values()), (codes, problems_in_logs(self.stack))


# -- infrastructure ---------------------------------------------------------------------------


def vhost_of(amqp_url: str) -> str:
    return unquote(urlsplit(amqp_url).path.lstrip("/")) or "/"


def dead_letters(amqp_url: str) -> int | None:
    """Messages in this deployment's dead-letter queue (None without a local rabbitmqctl)."""
    if shutil.which("rabbitmqctl") is None:
        return None
    try:
        out = subprocess.run(
            ["rabbitmqctl", "-q", "list_queues", "-p", vhost_of(amqp_url), "name", "messages"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "herald.dead" and parts[1].isdigit():
            return int(parts[1])
    return 0


async def run_command(*args: str, within: float = 60) -> str:
    """Run an administration command; its output (raises when it fails)."""
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), within)
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {process.returncode}: {text}")
    return text


_PROBLEM = re.compile(r"Traceback|ERROR|CRITICAL|WARNING")


def problems_in_logs(stack: Stack, limit: int = 40) -> str:
    """The warning/error lines of every process log (evidence for a failed check)."""
    lines: list[str] = []
    for path in sorted(stack.log_dir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if _PROBLEM.search(line):
                lines.append(f"{path.stem}: {line}")
    return "\n".join(
        lines[:limit] + ([f"... {len(lines) - limit} more"] if len(lines) > limit else [])
    )


class ReadyProbe:
    """Polls the API's ``/ready`` in the background and remembers every answer."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[float, int, dict[str, Any]]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ReadyProbe:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            while True:
                try:
                    async with session.get(self.url) as response:
                        body = await response.json(content_type=None)
                        self.answers.append((time.monotonic(), response.status, body))
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    self.answers.append((time.monotonic(), 0, {"error": repr(exc)}))
                await asyncio.sleep(0.1)

    def last(self) -> tuple[int, dict[str, Any]] | None:
        return self.answers[-1][1:] if self.answers else None

    async def wait_status(self, status: int, within: float, since: float = 0.0) -> float:
        """Wait until /ready answered ``status`` (at or after ``since``); when it first did."""

        def first() -> float | None:
            found = (at for at, got, _ in list(self.answers) if got == status and at >= since)
            return next(found, None)

        try:
            at = await eventually(first, timeout=within, what=f"/ready answering {status}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last answer {self.last()}") from None
        assert at is not None  # eventually returns a truthy value
        return at


class TcpProxy:
    """A TCP relay to one server, run in its own thread, that can be cut (every connection
    dropped, new ones refused) and restored: an outage seen by one deployment only."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()

    def url(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@" if credentials else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{self.port}"))

    def start(self) -> None:
        self._thread.start()
        self._call(self._listen())

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer.transport, up_writer.transport}
        self._transports |= pair

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, ConnectionError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._transports -= pair
