"""Message templates: sandboxed Jinja2, strict about unknown variables."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

# A rendering that is exactly this sends nothing to that recipient (as in the original product).
IGNORE_NOTIFICATION = "=== IGNORE NOTIFICATION ==="
VARIABLES = frozenset({"customer", "company", "campaign"})
MAX_SOURCE_LENGTH = 20_000


class TemplateProblem(ValueError):
    """A template that cannot be compiled or rendered, with a message fit for an operator."""


_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False, cache_size=64
)
# Email bodies are HTML: values are escaped so a customer's name cannot inject markup.
_HTML_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=True, keep_trailing_newline=False, cache_size=64
)


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
        return str(template.render(context)).strip()
    except TemplateError as exc:
        raise TemplateProblem(f"template error: {exc.message}") from None
    except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise TemplateProblem(f"template error: {type(exc).__name__}: {exc}") from None


def is_ignored(text: str) -> bool:
    """Whether a rendering means "send nothing to this recipient"."""
    return text.strip() == IGNORE_NOTIFICATION


def person_context(person: Mapping[str, Any]) -> dict[str, Any]:
    """The ``customer`` variable: the record's fields, its attributes, and ``name``."""
    customer = {
        key: person[key]
        for key in (
            "id",
            "login",
            "status",
            "full_name",
            "email",
            "billing_email",
            "phone",
            "category",
            "location_id",
            "partner_id",
            "billing_type",
            "services",
            "attributes",
        )
        if key in person
    }
    customer["name"] = customer.get("full_name", "")
    return customer
