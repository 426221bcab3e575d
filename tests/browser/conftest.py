"""A real browser for the console's tests: Debian's chromium, driven by Playwright for Python.

Chromium is launched for the tests of a module and closed, with Playwright, when a
pytest-xdist worker moves on to another module's tests (a module fixture, not a session
one): Playwright's sync API runs an event loop in the worker's main thread, and a later
test calling `asyncio.run` there would find it still running. Without chromium or
Playwright the tests skip, saying which is missing; under DARKROOM_REQUIRE_SERVICES=1 (CI)
they fail instead. Playwright's own browser downloads are never used: `executable_path`
points at the system chromium.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from darkroom.service import auth, dead_letters, images, profiles
from darkroom.service.context import Context
from tests.conftest import service_unavailable
from tests.corpus import read
from tests.integration.conftest import Service, start_service
from tests.integration.test_console_sessions import wait

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("DARKROOM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).with_name("artifacts")
"""Screenshots of each page, for a person to look at (git-ignored)."""
SIGNING_KEY = "browser-test-signing-key-0123456789"
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, for the tests of one module."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_unavailable("Playwright is not installed: pip install -e '.[test]'")
    if not CHROMIUM.exists():
        service_unavailable(f"No chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Console:
    """A running service with an admin key, a dead letter and an image with a face."""

    service: Service
    url: str
    admin_key: str
    letter_id: str
    face_image: str

    @property
    def ctx(self) -> Context:
        """The running service's context."""
        return self.service.runtime.ctx

    def sign_in(self, page: Page, key: str | None = None) -> None:
        """Sign `page` in with `key` (the admin key by default)."""
        page.goto(f"{self.url}/console/images")
        page.get_by_label("API key").fill(key or self.admin_key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/images")


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The service the module's tests share (each test has its own browser context)."""
    root = tmp_path_factory.mktemp("console")
    for service in start_service(root, signing_keys=[SIGNING_KEY])():
        ctx = service.runtime.ctx
        outside = {"crop": {"left": 0, "top": 0, "width": 500, "height": 500}}
        profiles.put_profile(ctx, "broken", outside)  # a crop outside the image: fails for good
        small = read("png-interlaced-rgba.png")
        broken = images.upload(ctx, small, images.Upload(profiles=["broken"], owner_id="ops"))
        face = images.upload(
            ctx,
            read("jpeg-baseline-srgb-icc.jpg"),
            images.Upload(profiles=[], analyses=["faces", "colors"], owner_id="ops"),
        )
        for accepted in (broken, face):
            wait(ctx, accepted.image.id)
        letter = dead_letters.list_page(ctx, include_replayed=False, limit=1, cursor=None)
        key, _ = auth.create_key(ctx, owner_id="ops", role="admin")
        yield Console(
            service,
            str(service.http.base_url).rstrip("/"),
            key,
            letter.items[0].id,
            face.image.id,
        )


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page, desktop-sized."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as artifacts/NAME.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
