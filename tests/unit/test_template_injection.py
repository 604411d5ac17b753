"""Known server-side template injection (SSTI) payloads: each is refused, none executes.

Every payload must raise ``shared.templates.TemplateProblem`` (an operator's 422) from ``check``
or ``render``: never run, never return Python internals, never crash with another exception (a
500), never exhaust time or memory. Payloads that some bound or sandbox setting does not stop
yet are ``xfail(strict=True)`` with what would stop them, so fixing ``shared/templates.py``
turns them into failures until the mark is removed.

Payloads that could hang or fill memory run in a child process with a time and memory limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shared.templates import TemplateProblem, check, person_context, render

CANARY = "HERALD_SSTI_CANARY"


def _context() -> dict[str, Any]:
    person = {
        "id": 7,
        "login": "000007",
        "full_name": "Zoë Ndlovu",
        "phone": "+27820000007",
        "services": [{"type": "internet", "tariff_id": 10}],
        "attributes": {"balance": 12.5, "items": [1, 2, 3]},
    }
    return {
        "customer": person_context(person),
        "company": {"name": "NetCo"},
        "campaign": {"id": None, "subject": ""},
    }


def _attempt(source: str) -> str:
    check(source)
    return render(source, _context())


# Reaching Python internals: object graph walks, globals, format-string tricks.
INTERNALS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__[-1].__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c.__name__ }}{% endfor %}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__.os.popen('id').read() }}",
    "{{ namespace.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ lipsum.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ range.__self__ }}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ config.__class__.__init__.__globals__['os'].popen('id').read() }}",
    "{{ request }}",
    "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}",
    "{{ customer.__class__ }}",
    "{{ customer.__class__.__mro__ }}",
    "{{ customer['__class__'] }}",
    "{{ customer.items.__self__ }}",
    "{{ customer.items.__globals__ }}",
    "{{ customer.attributes.__getitem__ }}",
    "{{ company.name.format.__globals__ }}",
    "{{ customer|attr('__class__') }}",
    "{{ customer|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ customer|attr(['_', '_class_', '_']|join) }}",
    "{{ (customer|attr('items'))|attr('__self__') }}",
    "{{ [customer]|selectattr('__class__')|list }}",
    "{% set x = customer.__class__ %}{{ x }}",
    "{% with x = customer.__class__ %}{{ x }}{% endwith %}",
    "{{ '%s'|format(customer.__class__) }}",
    "{{ '%s'|format(''.__class__.__mro__) }}",
    "{{ '{0.__class__}'.format(customer) }}",
    "{{ '{0.__class__.__mro__}'.format('') }}",
    "{{ '{0.items.__self__}'.format(customer) }}",
    "{{ '{a.__class__}'.format_map({'a': customer}) }}",
    "{{ '{0[__class__]}'.format(customer) }}",
    "{{ ''.format.__self__ }}",
    "{{ ''.join.__doc__ }}",
    "{{ [].append.__self__ }}",
    "{{ (1).__class__ }}",
    "{{ 1.__class__ }}",
    "{{ caller }}",
    "{{ loop }}",
    "{{ varargs }}",
    "{{ kwargs }}",
    "{{ user.name }}",
    "{% include '/etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
    "{% import 'os' as os %}",
    "{% from 'os' import popen %}",
]

# Names beyond customer/company/campaign: Jinja's globals (range, lipsum, dict, cycler,
# joiner, namespace) and ``self`` pass shared.templates' unknown-variable check.
GLOBALS_REASON = (
    "Jinja globals and `self` are still reachable: clear _ENV.globals (range, lipsum, dict,"
    " cycler, joiner, namespace) and refuse `self` in the unknown-variable check"
)
GLOBALS = [
    "{{ self }}",
    "{{ namespace() }}",
    "{{ joiner() }}",
    "{{ cycler(1, 2).next() }}",
    "{{ dict(a=1) }}",
    "{{ lipsum(1) }}",
    "{{ range(3)|list }}",
]

# Changing shared data from inside a template (the company variable is shared by every
# recipient of a rendering loop).
MUTATION_REASON = (
    "SandboxedEnvironment allows list/dict mutation: use ImmutableSandboxedEnvironment"
)
MUTATIONS = [
    "{{ company.update({'name': 'someone else'}) }}",
    "{{ customer.attributes.clear() }}",
    "{{ customer.attributes['items'].append(4) }}",
    "{{ customer.services.pop() }}",
]

# Exceptions other than TemplateProblem reach the API as a 500.
CRASH_REASON = (
    "not a TemplateProblem: render() does not catch RecursionError, and _compile() does not"
    " catch errors of Jinja's compile-time constant folding (ValueError here)"
)
CRASHES = [
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{{ (9**99999)|string }}",
]


@pytest.mark.parametrize("source", INTERNALS)
def test_internals_are_refused(source: str) -> None:
    with pytest.raises(TemplateProblem):
        _attempt(source)


@pytest.mark.parametrize(
    "source",
    [pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=GLOBALS_REASON)) for s in GLOBALS],
)
def test_globals_are_refused(source: str) -> None:
    with pytest.raises(TemplateProblem):
        _attempt(source)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=MUTATION_REASON))
        for s in MUTATIONS
    ],
)
def test_mutations_are_refused(source: str) -> None:
    with pytest.raises(TemplateProblem):
        _attempt(source)


@pytest.mark.parametrize(
    "source",
    [pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=CRASH_REASON)) for s in CRASHES],
)
def test_no_other_exception_escapes(source: str) -> None:
    with pytest.raises(TemplateProblem):
        _attempt(source)


def test_nothing_runs_a_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Command-execution payloads leave no trace (a file they would create)."""
    marker = tmp_path / "pwned"
    for via in ("cycler.__init__", "joiner.__init__", "lipsum", "namespace.__init__"):
        source = f"{{{{ {via}.__globals__.os.system('touch {marker}') }}}}"
        with pytest.raises(TemplateProblem):
            _attempt(source)
    assert not marker.exists()


def test_long_templates_are_refused() -> None:
    with pytest.raises(TemplateProblem, match="longer than"):
        check("x" * 20_001)


# --------------------------------------------------------------------------------------------
# Time and memory: each in a child process, 3 s and 1 GiB at most
# --------------------------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from shared.templates import TemplateProblem, check, render
    source = sys.argv[1]
    try:
        check(source)
        text = render(source, {"customer": {"id": 1, "attributes": {}}, "company": {},
                               "campaign": {}})
        print(json.dumps({"outcome": "rendered", "length": len(text)}))
    except TemplateProblem as exc:
        print(json.dumps({"outcome": "refused", "detail": str(exc)}))
    except BaseException as exc:
        print(json.dumps({"outcome": type(exc).__name__}))
    """
)
LIMIT_SECONDS = 2.0


def _outcome(source: str) -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, source],
            capture_output=True,
            text=True,
            timeout=LIMIT_SECONDS,  # the child's start-up (imports) included
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    lines = done.stdout.strip().splitlines()
    if not lines:
        return f"died ({done.returncode}): {done.stderr[-300:]}"
    return str(json.loads(lines[-1])["outcome"])


DOS_REFUSED = [
    "{{ range(10**9)|list|length }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{{ range(99999999)|sum }}",
]
DOS_REASON = (
    "no bound on rendering work: intercept * ** % and format widths (call_binop /"
    " format_string), cap loop work (wrap For iterables), cap output size, and give"
    " rendering a deadline"
)
DOS_NOT_REFUSED = [
    # 100 MB..1 GB strings from one expression
    "{{ 'x' * 1000000000 }}",
    "{{ ('x' * 99999999)|length }}",
    "{{ '{0:>999999999}'.format(1) }}",
    "{{ '%999999999d' % 1 }}",
    "{{ customer.id|string|center(999999999) }}",
    "{{ 'x'|indent(999999999, true) }}",
    # CPU: big integers (folded at compile time: check() itself hangs), nested loops
    "{{ 9**99999999 }}",
    "{{ customer.id ** 99999999 }}",
    "{% for a in 'x' * 10000 %}{% for b in 'x' * 10000 %}{% for c in 'x' * 100 %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    # Exponential growth through filters
    "{% set s = 'xx' %}{{ (s * 999999)|replace('x', s * 999) }}",
]


@pytest.mark.parametrize("source", DOS_REFUSED)
def test_resource_exhaustion_is_refused(source: str) -> None:
    assert _outcome(source) == "refused"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=DOS_REASON))
        for s in DOS_NOT_REFUSED
    ],
)
def test_unbounded_work_is_refused(source: str) -> None:
    assert _outcome(source) == "refused"
