"""Start and stop a whole Herald stack as real processes (demo, tests, benchmark)."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

SERVICES = ("campaign", "resolver", "sender", "logger")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Stack:
    """The four services, any number of senders, and the sandbox gateway."""

    database_url: str
    amqp_url: str
    log_dir: Path
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # Gateway and SMTP secrets are sealed at rest, as in production.
    secret_key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    api_port: int = field(default_factory=free_port)
    sandbox_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Where each process's current run starts in its (appended) log file.
    _log_starts: dict[str, int] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HERALD_DATABASE_URL=self.database_url,
            HERALD_AMQP_URL=self.amqp_url,
            HERALD_HTTP_HOST="127.0.0.1",
            HERALD_HTTP_PORT=str(self.api_port),
            HERALD_API_TOKEN=self.token,
            HERALD_SECRET_KEY=self.secret_key,
            # The sandbox gateway and the local SMTP server listen on loopback.
            HERALD_OUTBOUND_ALLOW="127.0.0.1,::1,localhost",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def _spawn(self, name: str, args: list[str]) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        path = self.log_path(name)
        self._log_starts[name] = path.stat().st_size if path.exists() else 0
        with path.open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, *args], stdout=log, stderr=subprocess.STDOUT, env=self.env()
            )

    def start(self, name: str, *, wait: bool = True, timeout: float = 60) -> None:
        """Start one process: ``sandbox``, a service name, or ``sender-N``."""
        if name == "sandbox":
            self._spawn(name, ["-m", "sandbox", "--port", str(self.sandbox_port)])
            marker = "sandbox gateway ready"
        else:
            service = name.split("-", 1)[0]
            self._spawn(name, ["-m", f"services.{service}"])
            marker = f"{service} ready:"
        if wait:
            self.wait_for_line(name, marker, timeout)

    def start_all(self, senders: int = 1) -> None:
        """Sandbox, campaign API, resolver, logger and ``senders`` senders."""
        self.start("sandbox")
        # The API first: it creates the database and the schema the others then find.
        self.start("campaign")
        for name in ("resolver", "logger", *(f"sender-{i}" for i in range(1, senders + 1))):
            self.start(name, wait=False)
        for name in ("resolver", "logger", *(f"sender-{i}" for i in range(1, senders + 1))):
            self.wait_for_line(name, f"{name.split('-', 1)[0]} ready:", 60)

    def wait_for_line(self, name: str, text: str, timeout: float) -> None:
        """Wait until the process's log holds ``text``; fail if it exits first."""
        deadline = time.monotonic() + timeout
        path = self.log_path(name)
        while time.monotonic() < deadline:
            if path.exists():
                with path.open("rb") as log:
                    log.seek(self._log_starts.get(name, 0))
                    if text.encode() in log.read():
                        return
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited ({process.returncode}):\n{self.tail(name)}")
            time.sleep(0.05)
        raise TimeoutError(f"{name} not ready after {timeout}s:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.log_path(name)
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )

    def stop(self, name: str, timeout: float = 30) -> int | None:
        """SIGTERM one process and wait for it; its exit code."""
        process = self.processes.pop(name, None)
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def kill(self, name: str) -> None:
        """SIGKILL one process (fault injection)."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def stop_all(self) -> dict[str, int | None]:
        """Stop every process, services first, the sandbox last."""
        codes = {}
        for name in sorted(self.processes, key=lambda n: n == "sandbox"):
            codes[name] = self.stop(name)
        return codes

    def logs(self) -> str:
        """Everything the processes wrote."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))
