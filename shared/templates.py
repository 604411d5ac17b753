"""Message templates: a bounded, immutable Jinja2 sandbox, strict about unknown variables.

Templates come from operators (and, with partner tokens, from partners), so rendering must
never reach Python internals, change shared data, or run away with memory or time: the
sandbox is immutable, has no globals, bounds arithmetic, call arguments, format widths,
loop iterations, rendering time and output size, and refuses macros and includes.
"""

from __future__ import annotations

import contextvars
import functools
import re
import string
import time
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shared.models import PERSON_FIELDS

# A rendering that is exactly this sends nothing to that recipient (as in the original product).
IGNORE_NOTIFICATION = "=== IGNORE NOTIFICATION ==="
VARIABLES = frozenset({"customer", "company", "campaign"})
MAX_SOURCE_LENGTH = 20_000
MAX_OUTPUT_LENGTH = 100_000  # characters of one rendering, and of any value built on the way
MAX_NUMBER = 10_000  # any int argument of a call (widths, counts)
MAX_LOOP_ITEMS = 10_000  # all loop iterations of one rendering together
MAX_RENDER_SECONDS = 0.5
_SPEC_NUMBER = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_budget: contextvars.ContextVar[list[float]] = contextvars.ContextVar("template_budget")


class TemplateProblem(ValueError):
    """A template that cannot be compiled or rendered, with a message fit for an operator."""


def _spend(items: int = 0) -> None:
    budget = _budget.get(None)
    if budget is None:
        return
    budget[0] -= items
    if budget[0] < 0:
        raise SecurityError(f"more than {MAX_LOOP_ITEMS} loop iterations")
    if time.monotonic() > budget[1]:
        raise SecurityError(f"rendering takes longer than {MAX_RENDER_SECONDS} s")


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_OUTPUT_LENGTH:
        raise SecurityError(f"a value longer than {MAX_OUTPUT_LENGTH}")
    return value


def _check_numbers(values: Iterable[Any]) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
            raise SecurityError(f"a number above {MAX_NUMBER} in a call")


def _check_percent(fmt: str) -> None:
    for width, precision in _PERCENT_SPEC.findall(fmt):
        if "*" in (width, precision) or any(v and int(v) > MAX_NUMBER for v in (width, precision)):
            raise SecurityError("format width or precision too large")


def _check_format(fmt: str) -> None:
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec and ("{" in spec or any(int(n) > MAX_NUMBER for n in _SPEC_NUMBER.findall(spec))):
            raise SecurityError("format width or precision too large")


class _Sandbox(ImmutableSandboxedEnvironment):
    """Immutable (no ``.update()``/``.append()`` on shared data), with bounded arithmetic,
    calls and formats: ``'x' * 10**9`` or ``'{:>999999999}'`` would exhaust memory inside
    one C call, before any timer could stop it."""

    intercepted_binops = frozenset({"*", "**", "%", "+", "//"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _spend()
        if operator == "**" and (
            not isinstance(right, int | float)
            or abs(right) > 64
            or (isinstance(left, int) and left.bit_length() > 64)
        ):
            raise SecurityError("exponent too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(n, int)
                    and len(seq) * n > MAX_OUTPUT_LENGTH
                ):
                    raise SecurityError(f"a value longer than {MAX_OUTPUT_LENGTH}")
        if operator == "%" and isinstance(left, str):
            _check_percent(left)
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend()
        _check_numbers((*args, *kwargs.values()))
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)  # str.format / format_map, sandboxed
        if wrapped is not None:
            _check_format(value.__self__)
        return wrapped


def _bounded(iterable: Iterable[Any]) -> Iterator[Any]:
    for item in iterable:
        _spend(1)
        yield item


def _guarded(filter_: Any) -> Any:
    """The filter with its arguments bounded as a call's are, and its result sized: Jinja
    calls filters directly, not through ``call``, even while compiling (``slice(10**8)``)."""
    # The value filtered is not an argument; a context or environment comes before it.
    skip = 2 if getattr(filter_, "jinja_pass_arg", None) is not None else 1

    @functools.wraps(filter_)  # keeps Jinja's pass_context/pass_environment marks
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _check_numbers((*args[skip:], *kwargs.values()))
        return _sized(filter_(*args, **kwargs))

    return guarded


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    """The ``format`` filter (``"%.2f"|format(x)``) with widths bounded."""
    _check_percent(value)
    return _sized(value % (kwargs or args))  # type: ignore[no-any-return]


def _environment(*, autoescape: bool) -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=autoescape, keep_trailing_newline=False)
    env.globals.clear()
    for name in ("center", "indent", "wordwrap", "filesizeformat", "xmlattr", "pprint"):
        env.filters.pop(name, None)
    env.filters["format"] = _format
    for name, filter_ in list(env.filters.items()):
        env.filters[name] = _guarded(filter_)
    env.filters["_herald_bounded"] = _bounded
    return env


_ENV = _environment(autoescape=False)
# Email bodies are HTML: values are escaped so a customer's name cannot inject markup.
_HTML_ENV = _environment(autoescape=True)
_FORBIDDEN_NODES = (
    nodes.Macro,
    nodes.CallBlock,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Extends,
)


@lru_cache(maxsize=128)
def _compile(source: str, html: bool = False) -> Any:
    if len(source) > MAX_SOURCE_LENGTH:
        raise TemplateProblem(f"template longer than {MAX_SOURCE_LENGTH} characters")
    env = _HTML_ENV if html else _ENV
    try:
        parsed = env.parse(source)
        unknown = meta.find_undeclared_variables(parsed) - VARIABLES
        if any(name.name == "self" for name in parsed.find_all(nodes.Name)):
            unknown.add("self")
        if unknown:
            names = ", ".join(sorted(unknown))
            raise TemplateProblem(
                f"unknown variable {names}; available: {', '.join(sorted(VARIABLES))}"
            )
        if any(True for _ in parsed.find_all(_FORBIDDEN_NODES)):
            raise TemplateProblem(
                "macros, call blocks, include, import and extends are not available"
            )
        for loop in parsed.find_all(nodes.For):
            loop.iter = nodes.Filter(
                loop.iter, "_herald_bounded", [], [], None, None, lineno=loop.lineno
            )
        return env.from_string(parsed)
    except TemplateProblem:
        raise
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise TemplateProblem(f"template syntax error{where}: {exc.message}") from None
    except Exception as exc:  # Jinja folds constants at compile time: 9**9**9 lands here
        raise TemplateProblem(f"template error: {type(exc).__name__}") from None


def check(source: str) -> None:
    """Raise TemplateProblem if ``source`` does not compile or names unknown variables."""
    _compile(source)


def render(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """Render ``source`` with ``context`` (HTML-escaping values when ``html``); an undefined
    name, a refused operation or a runaway rendering is a TemplateProblem."""
    template = _compile(source, html)
    token = _budget.set([MAX_LOOP_ITEMS, time.monotonic() + MAX_RENDER_SECONDS])
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT_LENGTH:
                raise TemplateProblem(
                    f"the message rendered longer than {MAX_OUTPUT_LENGTH} characters"
                )
            _spend()
            out.append(chunk)
        return "".join(out).strip()
    except TemplateProblem:
        raise
    except TemplateError as exc:
        raise TemplateProblem(f"template error: {exc.message}") from None
    except (
        ArithmeticError,
        TypeError,
        ValueError,
        LookupError,
        RecursionError,
        MemoryError,
    ) as exc:
        detail = f": {exc}" if str(exc) else ""  # a MemoryError says nothing more
        raise TemplateProblem(f"template error: {type(exc).__name__}{detail}") from None
    finally:
        _budget.reset(token)


def is_ignored(text: str) -> bool:
    """Whether a rendering means "send nothing to this recipient"."""
    return text.strip() == IGNORE_NOTIFICATION


def person_context(person: Mapping[str, Any]) -> dict[str, Any]:
    """The ``customer`` variable: the record's fields, its attributes, and ``name``."""
    customer = {key: person[key] for key in PERSON_FIELDS if key in person}
    customer["name"] = customer.get("full_name", "")
    return customer
