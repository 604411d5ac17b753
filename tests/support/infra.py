"""Where the tests find Postgres and RabbitMQ, and how to make private databases and vhosts.

Order: HERALD_TEST_DATABASE_URL / HERALD_TEST_AMQP_URL when set; else the local services
when they answer; else containers (testcontainers) where Docker works.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

LOCAL_DATABASE = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
CTL_ATTEMPTS = 10


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


@dataclass
class Infra:
    """Base URLs of the servers the tests use, and how to administer RabbitMQ vhosts."""

    database_url: str
    amqp_url: str
    management_url: str | None = None  # RabbitMQ HTTP API, when rabbitmqctl is not local

    def database(self, name: str) -> str:
        return urlunsplit(urlsplit(self.database_url)._replace(path="/" + name))

    def vhost_url(self, vhost: str) -> str:
        return urlunsplit(urlsplit(self.amqp_url)._replace(path="/" + quote(vhost, safe="")))

    def _management(self, method: str, path: str, body: Any = None) -> None:
        assert self.management_url is not None
        parts = urlsplit(self.amqp_url)
        auth = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
        request = urllib.request.Request(
            self.management_url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()

    def add_vhost(self, vhost: str) -> None:
        user = urlsplit(self.amqp_url).username or "guest"
        if self.management_url is None:
            _rabbitmqctl("add_vhost", vhost)
            _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        else:
            self._management("PUT", f"/api/vhosts/{quote(vhost, safe='')}")
            self._management(
                "PUT",
                f"/api/permissions/{quote(vhost, safe='')}/{user}",
                {"configure": ".*", "write": ".*", "read": ".*"},
            )

    @contextmanager
    def private_vhost(self) -> Iterator[str]:
        """A new vhost's URL, the vhost deleted on exit."""
        name = unique_name()
        self.add_vhost(name)
        try:
            yield self.vhost_url(name)
        finally:
            self.delete_vhost(name)

    def delete_vhost(self, vhost: str) -> None:
        if self.management_url is None:
            # A slow deletion (many quorum queues on a busy broker) must not hang the run.
            with contextlib.suppress(subprocess.TimeoutExpired, subprocess.CalledProcessError):
                _rabbitmqctl("delete_vhost", vhost)
        else:
            self._management("DELETE", f"/api/vhosts/{quote(vhost, safe='')}")


def _rabbitmqctl(*args: str) -> None:
    # Each CLI run takes one of a few Erlang distribution ports; with many runs at once on the
    # machine it finds none free and fails at once ("Distribution failed"): try again.
    for attempt in range(CTL_ATTEMPTS):
        done = subprocess.run(
            ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120
        )
        if done.returncode == 0:
            return
        if "Distribution failed" not in done.stderr or attempt == CTL_ATTEMPTS - 1:
            raise subprocess.CalledProcessError(
                done.returncode, done.args, done.stdout, done.stderr
            )
        time.sleep(0.5 + attempt * 0.5)  # backing off, not a sync point


@contextmanager
def discover() -> Iterator[Infra]:
    """The servers for this test run (containers are stopped on exit)."""
    database = os.environ.get("HERALD_TEST_DATABASE_URL") or LOCAL_DATABASE
    amqp = os.environ.get("HERALD_TEST_AMQP_URL") or LOCAL_AMQP
    local_ctl = shutil.which("rabbitmqctl") is not None
    if _answers(database, 5432) and _answers(amqp, 5672):
        management = os.environ.get("HERALD_TEST_AMQP_MANAGEMENT_URL")
        yield Infra(database, amqp, None if local_ctl and not management else management)
        return
    yield from _containers()


def _containers() -> Iterator[Infra]:
    try:
        from testcontainers.postgres import PostgresContainer
        from testcontainers.rabbitmq import RabbitMqContainer
    except ImportError as exc:  # pragma: no cover - dev extras always install it
        raise RuntimeError("no local Postgres/RabbitMQ and testcontainers is missing") from exc
    with (
        PostgresContainer("postgres:16-alpine", username="postgres", password="postgres") as pg,
        RabbitMqContainer("rabbitmq:3.13-management-alpine") as mq,
    ):
        host = pg.get_container_host_ip()
        database = f"postgresql://postgres:postgres@{host}:{pg.get_exposed_port(5432)}/postgres"
        amqp = f"amqp://guest:guest@{mq.get_container_host_ip()}:{mq.get_exposed_port(5672)}/"
        management = f"http://{mq.get_container_host_ip()}:{mq.get_exposed_port(15672)}"
        yield Infra(database, amqp, management)


def unique_name(prefix: str = "herald_test") -> str:
    """A fresh database / vhost name."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
