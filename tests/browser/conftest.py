"""Browser tests: Debian's headless Chromium driven by Playwright, against the real services.

One stack per test module (the tests of a module share its data and keep out of each other's
way), one browser per module, a fresh browser context (cookies) per test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    APIRequestContext,
    Browser,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from demo.__main__ import sample_customers, sample_names
from demo.client import sandbox_sms_config
from demo.stack import Stack
from tests.conftest import isolation, running_stack
from tests.support.broker import Vhost
from tests.support.infra import Infra

CHROMIUM = Path("/usr/bin/chromium")
# Assertions wait up to this long: a busy two-core CI machine runs the whole stack too.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed with apt-get when missing and we are root (CI)."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium, as root)")
        for command in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
        ):
            done = subprocess.run(command, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                pytest.skip(f"cannot install chromium: {done.stderr.strip()[-500:]}")
    return CHROMIUM


@pytest.fixture(scope="module")
def playwright(stack: Stack) -> Iterator[Playwright]:
    # Started after the stack and so stopped before it: the stack's teardown runs asyncio,
    # which cannot run while Playwright's event loop does.
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium: Path) -> Iterator[Browser]:
    # Root cannot use Chromium's sandbox; the pages are our own.
    launched = playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def stack(infra: Infra, vhost: Vhost, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole stack, shared by the tests of one module."""
    with (
        isolation(infra, vhost) as isolated,
        running_stack(isolated, tmp_path_factory.mktemp("logs")) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def rest(playwright: Playwright, stack: Stack) -> Iterator[APIRequestContext]:
    """The API with the bootstrap admin token, for seeding and checking."""
    context = playwright.request.new_context(
        base_url=stack.api_url + "/",
        extra_http_headers={"Authorization": f"Bearer {stack.token}"},
    )
    yield context
    context.dispose()


def call(rest: APIRequestContext, method: str, path: str, body: Any = None) -> Any:
    """One API call that must succeed; its JSON answer."""
    answer = rest.fetch(path.lstrip("/"), method=method, data=body)
    assert answer.ok, (method, path, answer.status, answer.text())
    return answer.json() if answer.status != 204 else None


@pytest.fixture(scope="module")
def seeded(rest: APIRequestContext, stack: Stack) -> Stack:
    """SMS through the sandbox, the demo's customers and names, one template."""
    call(rest, "PUT", "/config/sms", sandbox_sms_config(stack.sandbox_url))
    call(rest, "PUT", "/config/company", {"name": "Herald Test ISP"})
    for collection, names in sample_names().items():
        call(rest, "PUT", f"/{collection}", names)
    call(rest, "PUT", "/customers", sample_customers(40))
    template = {"title": "Balance", "channel": "sms", "body": "Hi {{ customer.full_name }}"}
    call(rest, "POST", "/templates", template)
    return stack


def console_url(stack: Stack) -> str:
    return stack.api_url.removesuffix("/api/v1")


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None
    )
    yield opened
    context.close()
    assert errors == [], f"script errors or CSP violations in the page: {errors}"


def sign_in(page: Page, stack: Stack, token: str) -> None:
    """Sign in through the form; lands on the first screen."""
    page.goto(console_url(stack) + "/signin")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/signin" not in url)


def shot(page: Page, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot of the screen, under the test's temporary folder."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
