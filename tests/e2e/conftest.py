"""A real server and a real browser for the end-to-end journeys.

The app runs under uvicorn on a free loopback port in a background thread, against its own
scratch SQLite database migrated to head (and filled with the demo catalogue when the demo
loader exists). Debian's Chromium is driven through Playwright's sync API; it is never
downloaded by Playwright. Without /usr/bin/chromium the journeys skip and say why.
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.database import Database
from core.outbox import Relay
from core.settings import Settings
from market.app import create_app, subscribe_handlers
from migrations import runner

CHROMIUM = Path("/usr/bin/chromium")
# Every switch that would make the browser reach beyond this machine is turned off.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@dataclass(frozen=True)
class LiveServer:
    url: str
    db: Database
    demo_loaded: bool


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _load_demo(db: Database) -> bool:
    """Fill the catalogue the way `market demo load` does, where that loader exists yet."""
    try:
        loader = importlib.import_module("market.demo.loader")
    except ModuleNotFoundError:
        return False
    load = getattr(loader, "load_demo", None)
    if load is None:
        return False
    with db.transaction() as session:
        load(session)
    # Deliver the catalogue's events now, as `market demo load` does, so the search index is
    # complete before the first page is served instead of being built inside a journey.
    relay = Relay(db=db)
    subscribe_handlers(relay)
    relay.drain()
    return True


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    # Always SQLite, even when the rest of the suite runs on PostgreSQL: the journeys test
    # the pages, and one quick database keeps them independent of a server being there.
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'e2e.db'}"
    runner.upgrade(url)
    db = Database.from_url(url)
    demo = _load_demo(db)
    app = create_app(settings=Settings(env="test", database_url=url), db=db)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", db=db, demo_loaded=demo)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        db.engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser journeys need Debian's Chromium at {CHROMIUM}: "
            "apt-get install chromium (.ci/run does this)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser profile per journey: no cookies carried from one test to the next."""
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def shoot() -> Any:
    """Save a full-page screenshot as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
