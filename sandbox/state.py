"""In-memory state and behaviour rules of the sandbox gateway (no HTTP here)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sandbox.config import Config, normalise_msisdn

DESCRIPTIONS: dict[int, str] = {
    0: "IN_PROGRESS",
    1: "SCHEDULED",
    22: "INTERNAL_FATAL_ERROR",
    23: "AUTHENTICATION_FAILURE",
    24: "DATA_VALIDATION_FAILED",
    25: "INSUFFICIENT_CREDITS",
    26: "UPSTREAM_CREDITS_UNAVAILABLE",
    27: "DAILY_QUOTA_EXCEEDED",
    28: "UPSTREAM_QUOTA_EXCEEDED",
    40: "TEMPORARILY_UNAVAILABLE",
    201: "MAXIMUM_BATCH_SIZE_EXCEEDED",
}


def describe(code: int) -> str:
    """Return the EAPI status description for a code."""
    return DESCRIPTIONS.get(code, "ERROR")


@dataclass(slots=True)
class Message:
    seq: int
    msisdn: str
    message: str
    stop_dup_id: int | None
    batch_id: int
    received_at: float
    endpoint: str

    def to_json(self) -> dict[str, Any]:
        """Return the recording as the control API shows it."""
        return {
            "seq": self.seq,
            "msisdn": self.msisdn,
            "message": self.message,
            "stop_dup_id": self.stop_dup_id,
            "batch_id": self.batch_id,
            "received_at": self.received_at,
            "endpoint": self.endpoint,
        }


@dataclass(slots=True)
class Submission:
    """One HTTP submission, already decoded; `invalid` holds a deferred (code, description)."""

    endpoint: str
    items: list[tuple[str, str]] = field(default_factory=list)
    username: str | None = None
    password: str | None = None
    stop_dup_id: int | None = None
    always_fail: bool = False
    always_succeed: bool = False
    invalid: tuple[int, str] | None = None


@dataclass(slots=True)
class Outcome:
    """How to answer a submission: an EAPI code, or a forced non-200 HTTP status."""

    code: int
    description: str
    batch_id: int | None = None
    http_status: int = 200
    delay_s: float = 0.0
    messages: list[Message] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """True when the gateway accepted the submission (new or duplicate)."""
        return self.http_status == 200 and self.code == 0

    def eapi_body(self) -> str:
        """Return the EAPI text answer, `code|description|batch_id`."""
        if self.http_status != 200:
            return f"sandbox: forced HTTP {self.http_status}"
        batch = "" if self.batch_id is None else str(self.batch_id)
        return f"{self.code}|{self.description}|{batch}"


def max_per_second(timestamps: Iterable[float], window: float = 1.0) -> int:
    """Return the largest number of timestamps within any sliding window of `window` seconds.

    Two timestamps share a window when they are less than `window` apart.
    """
    ordered = sorted(timestamps)
    best = 0
    start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


class State:
    """Recordings, statistics, dedup memory and the rules deciding each answer."""

    def __init__(self, config: Config | None = None, clock: Callable[[], float] = time.time):
        self.config = config if config is not None else Config()
        self._clock = clock
        self.messages: list[Message] = []
        # Never reset, so ids stay unique for the life of the process, like a real gateway's.
        self._seq = 0
        self._batch_id = 0
        self._clear_counters()

    def _clear_counters(self) -> None:
        self.submissions = 0
        self.rejected = 0
        self.duplicates_suppressed = 0
        self._dedup: dict[int, tuple[float, int]] = {}
        self._rate_second = -1
        self._rate_count = 0
        self._fail_first_done = 0
        self._accepted_since_error_after = 0

    def clear(self) -> int:
        """Forget recordings, statistics and dedup memory; return how many were recorded."""
        count = len(self.messages)
        self.messages = []
        self._clear_counters()
        return count

    def reset(self) -> None:
        """Restore the default config and clear everything."""
        self.config = Config()
        self.clear()

    def update_config(self, patch: object) -> None:
        """Apply a partial config update (raises ConfigError); restarts the affected counters."""
        changed = self.config.apply(patch)
        if "fail_first" in changed:
            self._fail_first_done = 0
        if "error_after" in changed:
            self._accepted_since_error_after = 0

    def check_credentials(self, username: str | None, password: str | None) -> bool:
        """True when no credentials are configured or these match them."""
        creds = self.config.credentials
        return creds is None or (username == creds.username and password == creds.password)

    def stats(self) -> dict[str, Any]:
        """Return the statistics shown by the control API."""
        messages = self.messages
        return {
            "received": len(messages),
            "submissions": self.submissions,
            "duplicates_suppressed": self.duplicates_suppressed,
            "rejected": self.rejected,
            "max_per_second": max_per_second(m.received_at for m in messages),
            "first_at": messages[0].received_at if messages else None,
            "last_at": messages[-1].received_at if messages else None,
        }

    def submit(self, sub: Submission) -> Outcome:
        """Decide the answer to one submission, recording its messages when accepted.

        Order: forced HTTP faults, rate limit, credentials, stop_dup_id memory,
        test_always_fail, validation, test_always_succeed, injected codes, credits.
        Messages are recorded before any latency/hang delay is served by the caller.
        """
        cfg = self.config
        now = self._clock()
        delay = (cfg.latency_ms + cfg.hang_ms) / 1000.0
        self.submissions += 1

        fault = self._http_fault()
        if fault is not None:
            self.rejected += 1
            return Outcome(-1, "HTTP_ERROR", http_status=fault, delay_s=delay)
        if self._rate_limited(now):
            return self._reject(40, delay)
        if not self.check_credentials(sub.username, sub.password):
            who = sub.username or ""
            return self._reject(23, delay, f"invalid credentials (username was: {who})")
        if sub.stop_dup_id is not None:
            seen = self._dedup.get(sub.stop_dup_id)
            if seen is not None and now - seen[0] < cfg.stop_dup_window_s:
                self.duplicates_suppressed += 1
                return Outcome(0, describe(0), seen[1], delay_s=delay)
        if sub.always_fail:
            return self._reject(22, delay)
        if sub.invalid is not None:
            return self._reject(sub.invalid[0], delay, sub.invalid[1])
        if sub.always_succeed:
            # Like the real gateway: answered as accepted, but neither delivered nor charged.
            return Outcome(0, describe(0), self._next_batch_id(), delay_s=delay)
        code = self._injected_code(sub.items)
        if code is not None:
            return self._reject(code, delay)
        if cfg.credits < len(sub.items):
            return self._reject(25, delay)
        return self._record(sub, now, delay)

    def _http_fault(self) -> int | None:
        cfg = self.config
        if cfg.http_status is not None:
            return cfg.http_status
        if cfg.fail_first is not None and self._fail_first_done < cfg.fail_first.count:
            self._fail_first_done += 1
            return cfg.fail_first.http_status
        return None

    def _rate_limited(self, now: float) -> bool:
        second = int(now)
        if second != self._rate_second:
            self._rate_second = second
            self._rate_count = 0
        self._rate_count += 1
        limit = self.config.rate_limit_per_second
        return limit is not None and self._rate_count > limit

    def _injected_code(self, items: list[tuple[str, str]]) -> int | None:
        cfg = self.config
        if cfg.error_code is not None:
            return cfg.error_code
        after = cfg.error_after
        if after is not None and self._accepted_since_error_after + len(items) > after.count:
            return after.code
        if cfg.error_for:
            for msisdn, _ in items:
                code = cfg.error_for.get(normalise_msisdn(msisdn))
                if code is not None:
                    return code
        return None

    def _reject(self, code: int, delay: float, description: str | None = None) -> Outcome:
        self.rejected += 1
        return Outcome(code, description or describe(code), delay_s=delay)

    def _next_batch_id(self) -> int:
        self._batch_id += 1
        return self._batch_id

    def _record(self, sub: Submission, now: float, delay: float) -> Outcome:
        batch_id = self._next_batch_id()
        recorded: list[Message] = []
        for msisdn, text in sub.items:
            self._seq += 1
            recorded.append(
                Message(self._seq, msisdn, text, sub.stop_dup_id, batch_id, now, sub.endpoint)
            )
        self.messages.extend(recorded)
        self.config.credits -= len(recorded)
        self._accepted_since_error_after += len(recorded)
        if sub.stop_dup_id is not None:
            self._dedup[sub.stop_dup_id] = (now, batch_id)
        return Outcome(0, describe(0), batch_id, delay_s=delay, messages=recorded)
