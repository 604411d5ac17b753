"""``python -m demo.screenshots``: regenerate the README's console screenshots in ``docs/``.

Starts a whole stack on a scratch database, loads the demo's data, and drives Debian's
Chromium (``/usr/bin/chromium``) with Playwright (a dev dependency) through Create and a
campaign's live page.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from demo.__main__ import console_address, seed
from demo.client import Api
from demo.stack import Stack
from shared import db

SHOTS = ("console-create.png", "console-campaign.png")


def _load(stack: Stack) -> None:
    async def run() -> None:
        api = Api(stack.api_url, stack.token)
        try:
            await seed(api, stack, 300)
        finally:
            await api.close()

    asyncio.run(run())


def _capture(page: Page, stack: Stack, folder: Path) -> None:
    console = console_address(stack)
    page.goto(console + "signin")
    page.get_by_label("API token").fill(stack.token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(console + "mass-sending/create")
    page.get_by_label("Status", exact=True).select_option(["active"])
    partners = ["Herald Fibre (1)", "Karoo Wireless (2)"]
    page.get_by_label("Partner", exact=True).select_option(label=partners)
    page.get_by_label("Templates", exact=True).select_option(label="Balance reminder")
    expect(page.locator("#counter")).to_contain_text("Parts")
    page.screenshot(path=str(folder / SHOTS[0]), full_page=True)
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url("**/mass-sending/campaigns/*")
    # Mid-way: some sent, some still to go, a few seconds of the rate chart drawn.
    page.wait_for_function(
        "() => document.querySelectorAll('#chart circle').length >= 4", timeout=60_000
    )
    page.screenshot(path=str(folder / SHOTS[1]), full_page=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get(
        "HERALD_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/herald_screenshots"
    )
    asyncio.run(db.drop_database(database_url))  # a fresh start: the shots show one campaign
    stack = Stack(
        database_url=database_url,
        amqp_url=os.environ.get("HERALD_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
        log_dir=Path(".demo/screenshot-logs"),
    )
    try:
        stack.start_all(senders=1)
        _load(stack)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=args.chromium, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            _capture(page, stack, args.out)
            browser.close()
    finally:
        stack.stop_all()
    print("wrote " + ", ".join(str(args.out / name) for name in SHOTS))


if __name__ == "__main__":
    main()
