"""Known server-side template injection (SSTI) payloads: each is refused, none executes.

Every payload must raise ``shared.templates.TemplateProblem`` (an operator's 422) from ``check``
or ``render``: never run, never return Python internals, never crash with another exception (a
500), never exhaust time or memory.

Payloads that could hang or fill memory run in a child process with a time and memory limit.
"""

from __future__ import annotations

import json
import signal
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

# Names beyond customer/company/campaign: the Jinja globals a message never needs.
GLOBALS_REMOVED = [
    "{{ namespace() }}",
    "{{ joiner() }}",
    "{{ cycler(1, 2).next() }}",
    "{{ dict(a=1) }}",
    "{{ lipsum(1) }}",
]
GLOBALS = [
    "{{ self }}",
    "{{ range(3)|list }}",
]

# Changing shared data from inside a template (the company variable is shared by every
# recipient of a rendering loop).
MUTATIONS = [
    "{{ company.update({'name': 'someone else'}) }}",
    "{{ customer.attributes.clear() }}",
    "{{ customer.attributes['items'].append(4) }}",
    "{{ customer.services.pop() }}",
]

# Exceptions other than TemplateProblem reach the API as a 500.
CRASHES = [
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
]


@pytest.mark.parametrize("source", INTERNALS)
def test_internals_are_refused(source: str) -> None:
    with pytest.raises(TemplateProblem):
        _attempt(source)


@pytest.mark.parametrize("source", GLOBALS_REMOVED)
def test_removed_globals_are_refused(source: str) -> None:
    with pytest.raises(TemplateProblem, match="unknown variable"):
        _attempt(source)


@pytest.mark.parametrize(
    "source",
    [s for s in GLOBALS],
)
def test_globals_are_refused(source: str) -> None:
    with pytest.raises(TemplateProblem):
        _attempt(source)


@pytest.mark.parametrize(
    "source",
    [s for s in MUTATIONS],
)
def test_mutations_are_refused(source: str) -> None:
    with pytest.raises(TemplateProblem):
        _attempt(source)


@pytest.mark.parametrize(
    "source",
    [s for s in CRASHES],
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
# Time and memory: each in a child process, limited to 2 s of CPU time (counted after its
# imports, so a busy machine does not matter) and 256 MiB more memory than it started with
# --------------------------------------------------------------------------------------------

CPU_SECONDS = 2
_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from shared.templates import TemplateProblem, check, render
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (spent + $CPU, spent + $CPU + 1))
    # What it uses now, plus 256 MiB: a rendering needing more is not bounded by the engine.
    status = open("/proc/self/status").read()
    size = int(status.split("VmSize:")[1].split()[0]) * 1024 + (256 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    source = sys.argv[1]
    try:
        check(source)
        text = render(source, {"customer": {"id": 7, "attributes": {}}, "company": {},
                               "campaign": {}})
        print(json.dumps({"outcome": "rendered", "length": len(text)}))
    except TemplateProblem as exc:
        # Refused only because this child may not have the memory: not a bound of its own.
        memory = "MemoryError" in str(exc)
        print(json.dumps({"outcome": "memory-limit" if memory else "refused", "detail": str(exc)}))
    except BaseException as exc:
        print(json.dumps({"outcome": type(exc).__name__}))
    """
).replace("$CPU", str(CPU_SECONDS))


def _outcome(source: str) -> str:
    """``refused``, ``rendered``, an exception's name, ``memory-limit`` or ``cpu-limit``."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, source],
        capture_output=True,
        text=True,
        timeout=120,  # only a stuck machine gets here: the CPU limit ends the child first
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if not lines:
        if done.returncode == -signal.SIGXCPU or done.returncode == -signal.SIGKILL:
            return "cpu-limit"
        return f"died ({done.returncode}): {done.stderr[-300:]}"
    return str(json.loads(lines[-1])["outcome"])


DOS_REFUSED = [
    "{{ range(10**9)|list|length }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{{ range(99999999)|sum }}",
    "{{ 'x' * 1000000000 }}",
    "{{ ('x' * 99999999)|length }}",
    "{{ 9**99999999 }}",  # folded at compile time unless ** is intercepted
    "{{ (9**99999)|string }}",
    "{{ customer.id ** 99999999 }}",
    "{{ (9**63)**63 }}",
    "{% for a in 'x' * 10000 %}{% for b in 'x' * 10000 %}{% for c in 'x' * 100 %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{% set s = 'xx' %}{{ (s * 999999)|replace('x', s * 999) }}",
]
DOS_NOT_REFUSED = [
    "{{ '{0:>9999999999}'.format(1) }}",
    "{{ '%9999999999d' % 1 }}",
    "{{ customer.id|string|center(9999999999) }}",
    "{{ 'x'|indent(9999999999, true) }}",
    "{{ 'x'.ljust(9999999999) }}",
    # 10**8 characters or items from pieces each under the repetition cap
    "{{ (('x' * 9999)|replace('x', 'y' * 9999))|length }}",
    "{{ ('y' * 9999)|join('x' * 9999)|length }}",
    "{{ ([1] * 9999 * 9999)|length }}",
]


@pytest.mark.parametrize("source", DOS_REFUSED)
def test_resource_exhaustion_is_refused(source: str) -> None:
    assert _outcome(source) == "refused"


@pytest.mark.parametrize(
    "source",
    [s for s in DOS_NOT_REFUSED],
)
def test_unbounded_work_is_refused(source: str) -> None:
    assert _outcome(source) == "refused"
