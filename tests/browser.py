"""Shared Playwright set-up for the browser tests: Debian's Chromium, never a downloaded browser.

Each browser test module still sets DJANGO_ALLOW_ASYNC_UNSAFE itself (Playwright's
sync API runs an asyncio loop in the test thread), so no other test gets it.
Set BROWSER_SCREENSHOTS=<dir> to keep a screenshot of each step.
"""

import os
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, *, width=1440, timeout=15_000):
    context = browser.new_context(accept_downloads=True, locale="zh-CN", viewport={"width": width, "height": 900})
    context.set_default_timeout(timeout)
    return context.new_page()


def snap(page, name):
    folder = os.environ.get("BROWSER_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def log_in(page, base_url, username, next_path="/"):
    """Open next_path, get sent to the login page, log in with the demo password."""
    page.goto(base_url + next_path)
    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "demo12345")
    page.click("button[type=submit]")
    if next_path != "/":
        page.wait_for_url(f"**{next_path}*")
