"""Runtime behaviour switches of the sandbox gateway and their validation."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_CREDITS = 1_000_000.0
DEFAULT_STOP_DUP_WINDOW_S = 24 * 3600.0


class ConfigError(ValueError):
    """A config update was rejected; the message says why."""


@dataclass(slots=True)
class Credentials:
    username: str
    password: str


@dataclass(slots=True)
class ErrorAfter:
    count: int
    code: int


@dataclass(slots=True)
class FailFirst:
    count: int
    http_status: int


@dataclass(slots=True)
class Config:
    latency_ms: float = 0.0
    hang_ms: float = 0.0
    error_code: int | None = None
    error_for: dict[str, int] = field(default_factory=dict)
    error_after: ErrorAfter | None = None
    http_status: int | None = None
    fail_first: FailFirst | None = None
    rate_limit_per_second: int | None = None
    credentials: Credentials | None = None
    credits: float = DEFAULT_CREDITS
    stop_dup_window_s: float = DEFAULT_STOP_DUP_WINDOW_S

    def to_json(self) -> dict[str, Any]:
        """Return the config as plain JSON-serialisable data."""
        return asdict(self)

    def apply(self, patch: object) -> set[str]:
        """Validate a partial update and apply it atomically; return the keys changed.

        Raises ConfigError (nothing applied) when any key is unknown or any value is invalid.
        """
        if not isinstance(patch, Mapping):
            raise ConfigError("config update must be a JSON object")
        parsed: dict[str, object] = {}
        for key, value in patch.items():
            parser = _PARSERS.get(key)
            if parser is None:
                known = ", ".join(sorted(_PARSERS))
                raise ConfigError(f"unknown config key {key!r} (known: {known})")
            parsed[key] = parser(key, value)
        for key, value in parsed.items():
            setattr(self, key, value)
        return set(parsed)


def _int(name: str, value: object, low: int, high: int | None = None) -> int:
    # bool is a subclass of int; True must not pass as 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise ConfigError(f"{name} must be {bound}")
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{name} must be a finite number >= 0")
    return float(value)


def _error_code(name: str, value: object) -> int:
    # 0 and 1 are success codes in EAPI, so they cannot be injected as errors.
    return _int(name, value, 2, 999)


def _http_status(name: str, value: object) -> int:
    return _int(name, value, 200, 599)


def _object(name: str, value: object, keys: set[str]) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be an object or null")
    extra = set(value) - keys
    if extra:
        raise ConfigError(f"{name} has unknown keys: {', '.join(sorted(map(str, extra)))}")
    return value


def _opt_error_code(name: str, value: object) -> int | None:
    return None if value is None else _error_code(name, value)


def _opt_http_status(name: str, value: object) -> int | None:
    return None if value is None else _http_status(name, value)


def _opt_rate(name: str, value: object) -> int | None:
    return None if value is None else _int(name, value, 0)


def _error_for(name: str, value: object) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{name} must be an object mapping msisdn to error code")
    result: dict[str, int] = {}
    for msisdn, code in value.items():
        if not isinstance(msisdn, str) or not msisdn.strip():
            raise ConfigError(f"{name} keys must be non-empty msisdn strings")
        result[normalise_msisdn(msisdn)] = _error_code(f"{name}[{msisdn!r}]", code)
    return result


def _error_after(name: str, value: object) -> ErrorAfter | None:
    if value is None:
        return None
    obj = _object(name, value, {"count", "code"})
    if "count" not in obj or "code" not in obj:
        raise ConfigError(f"{name} needs 'count' and 'code'")
    return ErrorAfter(
        count=_int(f"{name}.count", obj["count"], 0),
        code=_error_code(f"{name}.code", obj["code"]),
    )


def _fail_first(name: str, value: object) -> FailFirst | None:
    if value is None:
        return None
    obj = _object(name, value, {"count", "http_status"})
    if "count" not in obj:
        raise ConfigError(f"{name} needs 'count'")
    return FailFirst(
        count=_int(f"{name}.count", obj["count"], 0),
        http_status=_http_status(f"{name}.http_status", obj.get("http_status", 500)),
    )


def _credentials(name: str, value: object) -> Credentials | None:
    if value is None:
        return None
    obj = _object(name, value, {"username", "password"})
    username, password = obj.get("username"), obj.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ConfigError(f"{name} needs string 'username' and 'password'")
    return Credentials(username=username, password=password)


def normalise_msisdn(msisdn: str) -> str:
    """Return the msisdn without surrounding blanks and leading '+', for comparisons."""
    return msisdn.strip().lstrip("+")


_PARSERS: dict[str, Callable[[str, object], object]] = {
    "latency_ms": _number,
    "hang_ms": _number,
    "error_code": _opt_error_code,
    "error_for": _error_for,
    "error_after": _error_after,
    "http_status": _opt_http_status,
    "fail_first": _fail_first,
    "rate_limit_per_second": _opt_rate,
    "credentials": _credentials,
    "credits": _number,
    "stop_dup_window_s": _number,
}
