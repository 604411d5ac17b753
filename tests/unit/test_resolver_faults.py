"""Which resolution failures retry (outages) and which fail the campaign."""

from __future__ import annotations

import asyncpg
import pytest
from aio_pika.exceptions import AMQPConnectionError, ChannelClosed, DeliveryError
from pydantic import ValidationError

from services.resolver import faults
from shared.models import Filters


def _refused_filter() -> ValidationError:
    try:
        Filters.model_validate({"status": ["nonsense"]})
    except ValidationError as exc:
        return exc
    raise AssertionError("the filter was accepted")


def _raised_from(exc: BaseException, cause: BaseException) -> BaseException:
    try:
        raise exc from cause
    except BaseException as raised:
        return raised


def _raised_while_handling(exc: BaseException, context: BaseException) -> BaseException:
    try:
        try:
            raise context
        except BaseException:
            raise exc  # noqa: B904 - the implicit context is the point
    except BaseException as raised:
        return raised


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(),
        OSError("network unreachable"),
        TimeoutError(),
        TimeoutError(),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.TooManyConnectionsError("too many clients"),
        asyncpg.DeadlockDetectedError("deadlock detected"),
        asyncpg.SerializationError("could not serialize access"),
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.LockNotAvailableError("could not obtain lock"),
        asyncpg.InterfaceError("pool is closing"),
        AMQPConnectionError("connection lost"),
        ChannelClosed(320, "CONNECTION_FORCED"),
        DeliveryError(None, None),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_outages_retry(exc: BaseException) -> None:
    assert faults.classify(exc) == "outage"


@pytest.mark.parametrize(
    "exc",
    [
        _refused_filter(),
        RuntimeError("the SMS gateway is not configured"),
        ValueError("bad content"),
        KeyError("send_to"),
        asyncpg.DataError("invalid input syntax for type integer"),  # SQLSTATE class 22
        asyncpg.UndefinedColumnError("column does not exist"),
        asyncpg.exceptions.InvalidTextRepresentationError("invalid input"),
        asyncpg.exceptions.CheckViolationError("violates check constraint"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_faults_of_the_campaign_fail_it(exc: BaseException) -> None:
    assert faults.classify(exc) == "campaign"


def test_an_outage_behind_another_exception_still_retries() -> None:
    wrapped = _raised_from(RuntimeError("publish failed"), ConnectionResetError())
    assert faults.classify(wrapped) == "outage"
    during = _raised_while_handling(KeyError("x"), asyncpg.ConnectionDoesNotExistError("gone"))
    assert faults.classify(during) == "outage"
    grouped = ExceptionGroup("jobs", [ValueError("a"), TimeoutError()])
    assert faults.classify(grouped) == "outage"


def test_a_suppressed_context_is_not_looked_at() -> None:
    try:
        try:
            raise ConnectionResetError
        except ConnectionResetError:
            raise ValueError("refused") from None
    except ValueError as exc:
        assert faults.classify(exc) == "campaign"


def test_reason_is_short_and_names_the_type() -> None:
    text = faults.reason(_refused_filter())
    assert text.startswith("ValidationError: 1 validation error for Filters")
    assert "\n" not in text and len(text) <= faults.REASON_LENGTH
    assert faults.reason(KeyError()) == "KeyError"
    long = faults.reason(ValueError("x" * 1000))
    assert len(long) == faults.REASON_LENGTH and long.endswith("…")
