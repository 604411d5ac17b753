"""Templates compiled and rendered in worker processes, under hard memory and CPU limits.

Why processes: Jinja folds filters with literal arguments while it compiles, and a filter is
a C call that builds its whole result before any check sees it (``[1]|slice(10**8)|list``,
``batch(10**9, 0)``, ``str.replace``), so no check inside the engine bounds every template.
The kernel does: each worker runs under ``RLIMIT_AS`` (memory beyond its start-up size) and
``RLIMIT_CPU`` (a backstop should the service itself stall), and a worker still busy at its
request's deadline is killed and replaced.

A request (the preview of 100 recipients, one resolver batch) is a :class:`Session`: one
time budget for all its work, however many calls it makes; the wait for a free worker is
bounded apart (past it, :class:`RenderBusy`: a 503, not the template's fault). The event
loop only awaits: the exchange with a worker runs in one of the pool's threads, which also
replaces a worker it had to kill. Workers are forked by a forkserver, not by the service, so
they inherit none of its sockets or connections, and they exit when their pipe closes (the
service is gone). As with any multiprocessing, a service runs as ``python -m`` (or behind an
``if __name__ == "__main__"`` guard): a new process imports the main module.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import pickle
import queue
import resource
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from shared import templates
from shared.settings import Settings, get_settings
from shared.templates import TemplateProblem

T = TypeVar("T")
Outcome = str | TemplateProblem
_CONTEXT = multiprocessing.get_context("forkserver")
# Imported once by the forkserver, so a new worker (a fork of it) starts in milliseconds.
PRELOAD = ("shared.render_pool",)
_MB = 1024 * 1024
WAITING = 8  # threads per worker: requests that wait for a worker with a bounded wait


class RenderAborted(TemplateProblem):
    """A request stopped by force: past its deadline, out of memory, or its worker died."""


class RenderBusy(TimeoutError):
    """No worker was free in time: nothing was rendered (an overload, not the template's
    fault: the API answers 503, the resolver retries as after an outage)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How many workers, and what one request may use."""

    workers: int = 2
    memory_mb: int = 256
    timeout_seconds: float = 0.5
    queue_seconds: float = 5.0

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """``HERALD_RENDER_WORKERS``, ``_MEMORY_MB``, ``_TIMEOUT_SECONDS``, ``_QUEUE_SECONDS``."""
        return cls(
            settings.render_workers,
            settings.render_memory_mb,
            settings.render_timeout_seconds,
            settings.render_queue_seconds,
        )


@dataclass(frozen=True, slots=True)
class Job:
    """One template to render with ``context`` (HTML-escaped when ``html``)."""

    source: str
    context: Mapping[str, Any]
    html: bool = False


# -- In the worker ---------------------------------------------------------------------------


def render_jobs(jobs: Sequence[Job], fail_fast: bool) -> list[Outcome]:
    """Each job's text or problem (up to the first problem when ``fail_fast``)."""
    out: list[Outcome] = []
    for job in jobs:
        try:
            out.append(templates.render(job.source, job.context, html=job.html))
        except TemplateProblem as exc:
            out.append(exc)
            if fail_fast:
                break
    return out


def _address_space() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limit_memory(extra_bytes: int) -> None:
    # Relative to the size after the fork: the forkserver's footprint varies by platform.
    limit = _address_space() + extra_bytes
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _limit_cpu(seconds: float) -> None:
    # RLIMIT_CPU counts the process's whole life: move the soft limit before each request.
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(used.ru_utime + used.ru_stime + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _portable(exc: Exception) -> bool:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return False
    return True


def _work(conn: Connection, memory_bytes: int) -> None:
    """A worker's life: take a call, run it, answer; until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group; the parent stops us
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU leaves no core file
    _limit_memory(memory_bytes)
    while True:
        try:
            fn, args, kwargs, seconds = conn.recv()
        except (EOFError, OSError):
            return
        _limit_cpu(seconds)
        reply: tuple[str, Any]
        try:
            reply = ("ok", fn(*args, **kwargs))
        except TemplateProblem as exc:
            reply = ("problem", str(exc))
        except MemoryError:
            reply = ("memory", None)
        except Exception as exc:  # raised again in the service, or a template error (a 422)
            reply = ("raised", exc) if _portable(exc) else ("error", type(exc).__name__)
        try:
            conn.send(reply)
        except MemoryError:  # pickling the answer: nothing was written yet
            del reply
            conn.send(("memory", None))


# -- In the service --------------------------------------------------------------------------


class _Worker:
    def __init__(self, memory_bytes: int) -> None:
        self.conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(
            target=_work, args=(child, memory_bytes), name="herald-render", daemon=True
        )
        self.process.start()
        child.close()

    def kill(self) -> int | None:
        """Stop the process (it holds nothing worth a graceful stop); its exit code."""
        if self.process.exitcode is None:
            self.process.kill()
        self.process.join()
        return self.process.exitcode


class RenderPool:
    """Worker processes that render templates; start on first use or with :meth:`start`."""

    def __init__(self, limits: Limits | None = None, preload: Sequence[str] = ()) -> None:
        self.limits = limits or Limits()
        self._preload = [*PRELOAD, *preload]
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self._threads: ThreadPoolExecutor | None = None
        self._closed = False

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (for tests and diagnostics)."""
        with self._lock:
            return [w.process.pid for w in self._workers if w.process.pid is not None]

    @property
    def idle(self) -> int:
        """How many workers are free now."""
        return self._idle.qsize()

    def session(self, seconds: float | None = None) -> Session:
        """A request: everything rendered through it shares one deadline, ``seconds`` from
        now (``HERALD_RENDER_TIMEOUT_SECONDS`` unless given)."""
        budget = self.limits.timeout_seconds if seconds is None else seconds
        return Session(self, budget)

    async def start(self) -> None:
        """Start the workers (off the event loop: forking takes a moment)."""
        await asyncio.to_thread(self._start)

    async def close(self) -> None:
        """Stop every worker; requests in flight end as :class:`RenderAborted`."""
        await asyncio.to_thread(self._close)

    async def submit(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        seconds: float,
    ) -> tuple[str, Any, float]:
        """Run ``fn(*args, **kwargs)`` in a worker for at most ``seconds`` once a worker
        takes it: (kind of answer, value, seconds the worker spent)."""
        if self._threads is None:
            await self.start()
        assert self._threads is not None
        loop = asyncio.get_running_loop()
        # Should this request be cancelled, the thread still owns the worker and hands it
        # back (or replaces it) when the answer or the deadline comes.
        queued = time.monotonic()
        return await loop.run_in_executor(
            self._threads,
            self._serve,
            (fn, args, kwargs, seconds),
            queued + self.limits.queue_seconds,
        )

    def _start(self) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the render pool is closed")
            if self._threads is not None:
                return
            _CONTEXT.set_forkserver_preload(self._preload)
            for _ in range(self.limits.workers):
                self._add()
            # Requests wait for a worker in a thread, bounded by queue_seconds; with more
            # waiting than threads, the rest wait for a thread (and then answer busy).
            self._threads = ThreadPoolExecutor(self.limits.workers * WAITING, "herald-render")

    def _add(self) -> None:  # with self._lock held
        worker = _Worker(self.limits.memory_mb * _MB)
        self._workers.add(worker)
        self._idle.put(worker)

    def _serve(
        self,
        call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any], float],
        wait_until: float,
    ) -> tuple[str, Any, float]:
        # A request that waited for a thread past ``wait_until`` does not start: an
        # overloaded pool answers busy rather than late.
        wait = wait_until - time.monotonic()
        try:
            if wait <= 0:
                raise queue.Empty
            worker = self._idle.get(timeout=wait)
        except queue.Empty:
            return ("busy", None, 0.0)
        seconds = call[3]
        began = time.monotonic()
        healthy = False
        try:
            worker.conn.send(call)
            if not worker.conn.poll(seconds):
                return ("timeout", None, seconds)
            kind, value = worker.conn.recv()
            healthy = True
            return (kind, value, time.monotonic() - began)
        except (EOFError, OSError):
            return ("died", worker.kill(), time.monotonic() - began)
        finally:
            self._hand_back(worker, healthy)

    def _hand_back(self, worker: _Worker, healthy: bool) -> None:
        with self._lock:
            if healthy and not self._closed:
                self._idle.put(worker)
                return
            worker.kill()
            worker.conn.close()
            self._workers.discard(worker)
            if not self._closed:
                self._add()

    def _close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        for worker in workers:
            worker.kill()  # a busy one's thread sees the pipe close and lets it go
        while True:
            try:
                idle = self._idle.get_nowait()
            except queue.Empty:
                break
            idle.conn.close()
            with self._lock:
                self._workers.discard(idle)
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)


def _died(code: int | None) -> str:
    if code == -signal.SIGXCPU:
        return "the template used more CPU time than a rendering may"
    if code is not None and code < 0:
        return f"the rendering was stopped ({signal.Signals(-code).name})"
    return "the rendering stopped unexpectedly"


class Session:
    """The template work of one request, under one time budget."""

    def __init__(self, pool: RenderPool, seconds: float) -> None:
        self.pool = pool
        self.seconds = seconds
        self.remaining = seconds

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a worker: a module-level function of picklable
        arguments.

        Raises what ``fn`` raises (TemplateProblem, or an exception that survives pickling),
        RenderAborted when the budget ran out or the worker died, RenderBusy when no worker
        was free in time.
        """
        if self.remaining <= 0:
            raise self._overrun()
        kind, value, spent = await self.pool.submit(fn, args, kwargs, self.remaining)
        self.remaining -= spent
        if kind == "ok":
            return value  # type: ignore[no-any-return]
        if kind == "problem":
            raise TemplateProblem(value)
        if kind == "raised":
            raise value
        if kind == "busy":
            raise RenderBusy(
                f"every template worker stayed busy for {self.pool.limits.queue_seconds:g} s"
            )
        if kind == "timeout":
            raise self._overrun()
        if kind == "memory":
            raise RenderAborted(
                f"the template needs more than the {self.pool.limits.memory_mb} MB"
                " a rendering may use"
            )
        if kind == "died":
            raise RenderAborted(_died(value))
        raise RenderAborted(f"template error: {value}")

    def _overrun(self) -> RenderAborted:
        return RenderAborted(f"rendering took longer than {self.seconds:g} s; it was stopped")

    async def check(self, source: str) -> None:
        """Raise TemplateProblem if ``source`` does not compile (compiled in a worker:
        Jinja evaluates constant expressions while it compiles)."""
        await self.call(templates.check, source)

    async def render(self, jobs: Sequence[Job], *, fail_fast: bool = False) -> list[Outcome]:
        """Each job's text or TemplateProblem, in order; all in one worker call. With
        ``fail_fast`` the list ends at the first problem."""
        return await self.call(render_jobs, list(jobs), fail_fast)


@lru_cache(maxsize=1)
def shared() -> RenderPool:
    """The process's pool, made from its settings on first use (services make their own
    at start-up and close it on the way out)."""
    return RenderPool(Limits.of(get_settings()))
