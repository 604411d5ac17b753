"""A private database and RabbitMQ vhost for one benchmark run, dropped at the end.

The servers are the local ones (start them as the README says), or those named by
``HERALD_BENCH_DATABASE_URL`` / ``HERALD_BENCH_AMQP_URL``. Vhosts are managed with
``rabbitmqctl`` when it is installed, else through the management API at
``HERALD_BENCH_AMQP_MANAGEMENT_URL``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from shared import db

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
ALL = (".*", ".*", ".*")  # configure, write, read


@dataclass
class Deployment:
    """One benchmark deployment: the same unique name for its database and its vhost."""

    name: str
    server_database_url: str
    server_amqp_url: str
    management_url: str | None
    created: bool = False

    @classmethod
    def fresh(cls) -> Deployment:
        """A new unique name on the configured servers (nothing created yet)."""
        management = os.environ.get("HERALD_BENCH_AMQP_MANAGEMENT_URL")
        if management is None and shutil.which("rabbitmqctl") is None:
            raise SystemExit(
                "bench: need rabbitmqctl or HERALD_BENCH_AMQP_MANAGEMENT_URL to create a vhost"
            )
        return cls(
            name=f"herald_bench_{uuid.uuid4().hex[:10]}",
            server_database_url=os.environ.get("HERALD_BENCH_DATABASE_URL") or DEFAULT_DATABASE,
            server_amqp_url=os.environ.get("HERALD_BENCH_AMQP_URL") or DEFAULT_AMQP,
            management_url=management,
        )

    @property
    def database_url(self) -> str:
        return urlunsplit(urlsplit(self.server_database_url)._replace(path="/" + self.name))

    @property
    def amqp_url(self) -> str:
        parts = urlsplit(self.server_amqp_url)
        return urlunsplit(parts._replace(path="/" + quote(self.name, safe="")))

    async def create(self) -> None:
        """Create the vhost (with permissions) and the database."""
        self.created = True
        self._add_vhost()
        await db.ensure_database(self.database_url)

    async def drop(self) -> None:
        """Delete the vhost and drop the database (errors are reported, not raised)."""
        if not self.created:
            return
        try:
            self._delete_vhost()
        except Exception as exc:
            print(f"bench: could not delete vhost {self.name}: {exc}", flush=True)
        try:
            await db.drop_database(self.database_url)
        except (OSError, asyncpg.PostgresError) as exc:
            print(f"bench: could not drop database {self.name}: {exc}", flush=True)
        self.created = False

    def _user(self) -> str:
        return urlsplit(self.server_amqp_url).username or "guest"

    def _add_vhost(self) -> None:
        if self.management_url is None:
            subprocess.run(["rabbitmqctl", "-q", "add_vhost", self.name], check=True)
            subprocess.run(
                ["rabbitmqctl", "-q", "set_permissions", "-p", self.name, self._user(), *ALL],
                check=True,
            )
        else:
            vhost = quote(self.name, safe="")
            self._management("PUT", f"/api/vhosts/{vhost}")
            self._management(
                "PUT",
                f"/api/permissions/{vhost}/{quote(self._user(), safe='')}",
                {"configure": ".*", "write": ".*", "read": ".*"},
            )

    def _delete_vhost(self) -> None:
        if self.management_url is None:
            subprocess.run(
                ["rabbitmqctl", "-q", "delete_vhost", self.name],
                check=False,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        else:
            self._management("DELETE", f"/api/vhosts/{quote(self.name, safe='')}")

    def _management(self, method: str, path: str, body: Any = None) -> None:
        assert self.management_url is not None
        parts = urlsplit(self.server_amqp_url)
        auth = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
        request = urllib.request.Request(
            self.management_url.rstrip("/") + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=10).close()
