"""Progress while the benchmark runs: one line per step, a live status line under it."""

from __future__ import annotations

import sys
import time
from typing import TextIO

# When the output is not a terminal, repeat the status line at most this often.
_PLAIN_EVERY_S = 5.0


class Progress:
    """Prints ``[mm:ss] step`` lines and, on a terminal, rewrites one status line in place."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.started = time.monotonic()
        self.tty = out.isatty()
        self._status = ""
        self._last_plain = 0.0

    def _stamp(self) -> str:
        elapsed = int(time.monotonic() - self.started)
        return f"[{elapsed // 60:02d}:{elapsed % 60:02d}]"

    def _clear(self) -> None:
        if self.tty and self._status:
            self.out.write("\r\x1b[K")
            self._status = ""

    def step(self, text: str) -> None:
        """A new step of the run."""
        self._clear()
        self.out.write(f"{self._stamp()} {text}\n")
        self.out.flush()

    def note(self, text: str) -> None:
        """A detail of the current step, kept on screen."""
        self._clear()
        self.out.write(f"{' ' * 8}{text}\n")
        self.out.flush()

    def status(self, text: str) -> None:
        """The live state of the current step (rewritten in place on a terminal)."""
        if self.tty:
            self.out.write(f"\r\x1b[K{' ' * 8}{text}")
            self._status = text
            self.out.flush()
            return
        now = time.monotonic()
        if now - self._last_plain >= _PLAIN_EVERY_S:
            self._last_plain = now
            self.out.write(f"{' ' * 8}{text}\n")
            self.out.flush()

    def done(self) -> None:
        """End the status line of a step."""
        self._clear()
        self._last_plain = 0.0
