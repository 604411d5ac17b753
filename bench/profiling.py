"""Sampling profiles of running services with py-spy, and where their CPU time goes.

py-spy is not a dependency of Herald: ``--profile DIR`` uses the ``py-spy`` found next to
the interpreter or on ``PATH`` (``pip install py-spy`` into the venv). Profiles are raw
collapsed stacks (``DIR/<process>.txt``, one ``frame;frame;... count`` per line; idle
samples are not recorded), which any flame graph tool reads, summarised here by package and
by function.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

RATE_HZ = 100
# Collapsed stacks; sampling without pausing the process (it must run at full speed).
_RAW = ("--format", "raw", "--full-filenames", "--nonblocking", "--output")
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def find_py_spy() -> str | None:
    """The py-spy executable, or None."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


class Recorder:
    """``py-spy record`` attached to one process until :meth:`stop`."""

    def __init__(self, executable: str, pid: int, output: Path) -> None:
        self.output = output
        self.log = output.with_suffix(".log")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    executable,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    str(RATE_HZ),
                    *_RAW,
                    str(output),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> bool:
        """Stop sampling and write the profile; False when py-spy failed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.output.exists()


def _where(path: str) -> str:
    """A frame's file as a package name: ``aiormq``, ``services.sender``, ``asyncio``."""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    for top in ("services", "shared", "sandbox", "demo", "bench"):
        marker = f"/{top}/"
        if marker in path or path.startswith(top + "/"):
            rest = path.split(marker, 1)[1] if marker in path else path[len(top) + 1 :]
            parts = rest.split("/")
            return f"{top}.{parts[0]}" if top == "services" and len(parts) > 1 else top
    name = Path(path).name.removesuffix(".py")
    parent = Path(path).parent.name
    return parent if parent in ("asyncio", "json", "logging", "concurrent") else f"stdlib:{name}"


def _parse(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame)
    if match is None:
        return frame, "?"
    return match["func"], match["file"]


# With --nonblocking py-spy cannot tell an idle thread: a loop waiting in select() is idle.
_IDLE = "EpollSelector.select"
_WRITE = "_SelectorSocketTransport.write"


def _library(frames: list[tuple[str, str]]) -> str:
    """The first library (or Herald) frame under a leaf, walking up from it."""
    for func, file in reversed(frames):
        if "/asyncio/" in file:
            continue
        where = _where(file)
        return f"{where}: {func}"
    return "asyncio"


def _callback(frames: list[tuple[str, str]]) -> str:
    """What the event loop was running: the two frames under ``Handle._run``."""
    for index, (func, _) in enumerate(frames):
        if func == "Handle._run":
            rest = [
                f for f, file in frames[index + 1 :] if "/asyncio/" not in file or "Transport" in f
            ]
            return " > ".join(rest[:2]) or "asyncio"
    return "event loop"


def summarise(path: Path, top: int = 15) -> dict[str, Any]:
    """Where a process's CPU samples went: by package (self time), by function (self and
    inclusive), by event-loop callback, and which library issued the socket writes."""
    by_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total_time: Counter[str] = Counter()
    callbacks: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    samples = idle = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_parse(f) for f in stack.split(";") if f]
        if not frames:
            continue
        func, file = frames[-1]
        if func == _IDLE:
            idle += count
            continue
        samples += count
        by_package[_where(file)] += count
        self_time[f"{func} ({_short(file)})"] += count
        callbacks[_callback(frames)] += count
        if func == _WRITE:
            writes[_library(frames[:-1])] += count
        seen = set()
        for func, file in frames:
            key = f"{func} ({_short(file)})"
            if key not in seen:
                seen.add(key)
                total_time[key] += count

    def share(counter: Counter[str], n: int = top) -> list[tuple[str, float]]:
        return [(k, round(100 * v / max(samples, 1), 1)) for k, v in counter.most_common(n)]

    herald_total = Counter(
        {k: v for k, v in total_time.items() if re.search(r"\((services|shared)/", k)}
    )
    return {
        "samples": samples,
        "idle_samples_excluded": idle,
        "seconds_on_cpu": round(samples / RATE_HZ, 1),
        "by_package_pct": share(by_package),
        "self_pct": share(self_time),
        "herald_total_pct": share(herald_total),
        "callbacks_pct": share(callbacks, 10),
        "socket_writes_by_caller_pct": share(writes, 6),
    }


def _short(path: str) -> str:
    for top in ("services/", "shared/", "site-packages/"):
        if top in path:
            return path.split(top, 1)[1] if top == "site-packages/" else top + path.split(top, 1)[1]
    return Path(path).name


def render(name: str, summary: dict[str, Any]) -> str:
    """A short text summary of one process's profile (percentages of busy samples)."""
    lines = [
        f"{name}: {summary['samples']} busy samples (~{summary['seconds_on_cpu']} s on CPU;"
        f" {summary['idle_samples_excluded']} idle ones excluded), % of busy samples"
    ]
    lines.append(
        "  by package (self): " + ", ".join(f"{k} {v}%" for k, v in summary["by_package_pct"][:10])
    )
    lines.append(
        "  socket writes, by caller: "
        + ", ".join(f"{k} {v}%" for k, v in summary["socket_writes_by_caller_pct"])
    )
    lines.append("  event-loop callbacks:")
    lines += [f"    {v:5.1f}%  {k}" for k, v in summary["callbacks_pct"][:8]]
    lines.append("  hottest functions (self):")
    lines += [f"    {v:5.1f}%  {k}" for k, v in summary["self_pct"][:8]]
    lines.append("  Herald functions (inclusive):")
    lines += [f"    {v:5.1f}%  {k}" for k, v in summary["herald_total_pct"][2:12]]
    return "\n".join(lines)
