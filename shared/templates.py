"""Message templates: sandboxed Jinja2, strict about unknown variables."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from shared.models import PERSON_FIELDS

# A rendering that is exactly this sends nothing to that recipient (as in the original product).
IGNORE_NOTIFICATION = "=== IGNORE NOTIFICATION ==="
VARIABLES = frozenset({"customer", "company", "campaign"})
MAX_SOURCE_LENGTH = 20_000


class TemplateProblem(ValueError):
    """A template that cannot be compiled or rendered, with a message fit for an operator."""


# A message is at most a few kilobytes: anything near these limits is an attack or a bug.
MAX_OUTPUT_LENGTH = 100_000
MAX_RENDER_SECONDS = 0.5
_MAX_REPEAT = 10_000
_MAX_POWER = 10**12


class _Environment(SandboxedEnvironment):
    """The sandbox, with the globals a message never needs removed and arithmetic bounded
    (``'x' * 10**9`` or ``9 ** 9 ** 9`` would exhaust memory or CPU before any timer)."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=autoescape,
            keep_trailing_newline=False,
            cache_size=64,
        )
        for name in ("lipsum", "cycler", "joiner", "namespace", "dict"):
            self.globals.pop(name, None)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for count, other in ((left, right), (right, left)):
                if isinstance(count, int) and hasattr(other, "__len__") and count > _MAX_REPEAT:
                    raise SecurityError("repetition too large")
            return left * right
        if operator == "**":
            result = left**right if abs(right) < 64 else None
            if result is None or (isinstance(result, int) and abs(result) > _MAX_POWER):
                raise SecurityError("power too large")
            return result
        return super().call_binop(context, operator, left, right)


_ENV = _Environment(autoescape=False)
# Email bodies are HTML: values are escaped so a customer's name cannot inject markup.
_HTML_ENV = _Environment(autoescape=True)


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt a rendering that runs too long (loops over ranges...). A signal timer works
    only in the main thread, where every service renders; elsewhere no limit applies."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TemplateProblem(f"template took longer than {seconds} s to render")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@lru_cache(maxsize=128)
def _compile(source: str, html: bool = False) -> Any:
    if len(source) > MAX_SOURCE_LENGTH:
        raise TemplateProblem(f"template longer than {MAX_SOURCE_LENGTH} characters")
    try:
        parsed = _ENV.parse(source)
        unknown = meta.find_undeclared_variables(parsed) - VARIABLES
        if unknown:
            names = ", ".join(sorted(unknown))
            raise TemplateProblem(
                f"unknown variable {names}; available: {', '.join(sorted(VARIABLES))}"
            )
        return (_HTML_ENV if html else _ENV).from_string(source)
    except TemplateProblem:
        raise
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise TemplateProblem(f"template syntax error{where}: {exc.message}") from None


def check(source: str) -> None:
    """Raise TemplateProblem if ``source`` does not compile or names unknown variables."""
    _compile(source)


def render(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """Render ``source`` with ``context`` (HTML-escaping values when ``html``); an undefined
    name or attribute is a TemplateProblem."""
    template = _compile(source, html)
    try:
        with _time_limit(MAX_RENDER_SECONDS):
            text = str(template.render(context)).strip()
    except TemplateError as exc:
        raise TemplateProblem(f"template error: {exc.message}") from None
    except TemplateProblem:
        raise
    except (ArithmeticError, TypeError, ValueError, LookupError, MemoryError) as exc:
        raise TemplateProblem(f"template error: {type(exc).__name__}: {exc}") from None
    if len(text) > MAX_OUTPUT_LENGTH:
        raise TemplateProblem(f"the message rendered longer than {MAX_OUTPUT_LENGTH} characters")
    return text


def is_ignored(text: str) -> bool:
    """Whether a rendering means "send nothing to this recipient"."""
    return text.strip() == IGNORE_NOTIFICATION


def person_context(person: Mapping[str, Any]) -> dict[str, Any]:
    """The ``customer`` variable: the record's fields, its attributes, and ``name``."""
    customer = {key: person[key] for key in PERSON_FIELDS if key in person}
    customer["name"] = customer.get("full_name", "")
    return customer
