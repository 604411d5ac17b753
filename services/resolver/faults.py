"""Which failures of resolving a campaign a retry can mend. Pure: it looks at exceptions only.

An outage (the database or the broker unreachable, a timeout, a deadlock, a server shutting
down) ends, so the resolver retries it. Anything else comes from the campaign itself (a stored
filter a newer validator refuses, content that cannot be rendered, a channel no longer
configured) and fails the same way every time: retrying it would block every campaign behind
it in the queue, so the campaign fails with a reason instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, Literal

import asyncpg
from aio_pika.exceptions import AMQPError

Fault = Literal["outage", "campaign"]

# SQLSTATE classes of a server in trouble rather than a statement in error: connection
# exception, transaction rollback (deadlock, serialization), insufficient resources, operator
# intervention (admin shutdown, cannot connect now, statement timeout), system error.
_OUTAGE_CLASSES: Final = ("08", "40", "53", "57", "58")
_OUTAGE_STATES: Final = frozenset({"55P03"})  # lock_not_available: another holder lets go
REASON_LENGTH: Final = 300


def classify(exc: BaseException) -> Fault:
    """``outage`` when ``exc`` (or what caused it) is one a retry can outlast."""
    return "outage" if any(_is_outage(e) for e in _chain(exc)) else "campaign"


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, asyncpg.PostgresError):
        state = str(exc.sqlstate or "")
        return state[:2] in _OUTAGE_CLASSES or state in _OUTAGE_STATES
    if isinstance(exc, asyncpg.InterfaceError):
        # The client's ValueErrors are arguments Postgres cannot take: the same next time.
        # The others: connection closed, pool closing, a schema cache outdated by a migration.
        return not isinstance(exc, ValueError)
    # OSError covers refused and reset connections.
    return isinstance(exc, AMQPError | OSError | TimeoutError)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the exceptions it groups, and those it was raised from or while handling."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        if current.__cause__ is not None:
            todo.append(current.__cause__)
        if current.__context__ is not None and not current.__suppress_context__:
            todo.append(current.__context__)


def reason(exc: BaseException) -> str:
    """A short text for ``campaigns.failed_reason``: the type and the first lines."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {'; '.join(lines[:3])}" if lines else type(exc).__name__
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"
