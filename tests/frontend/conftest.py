"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Playwright's sync API runs an event loop in the test thread, which trips Django's async-unsafe
check for ORM calls made by the test itself (factories); the live server runs in its own thread.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}

# The tiny county of tests.factories lies outside the demo county's service area.
TINY_COUNTY_SERVICE_AREA = (120.9, 28.9, 121.2, 29.2)


@dataclass
class PageLog:
    """What the page did: every request it made and every console error or page error."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def external_requests(self) -> list[str]:
        external = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if parts.hostname not in LOCAL_HOSTS:
                external.append(url)
        return external


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_log():
    return PageLog()


def logged_page(browser, page_log, **context_options):
    """A new context and page that log every request and every console or page error, announce
    the map (window.__gridopsMap) and keep every websocket (window.__gridopsSockets)."""
    context = browser.new_context(**{"locale": "zh-CN", **context_options})
    context.on("request", lambda request: page_log.requests.append(request.url))
    page = context.new_page()
    page.on(
        "console",
        lambda message: page_log.errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: page_log.errors.append(str(error)))
    # The app hands its map to listeners of "gridops:map-ready" instead of a global; keep it for tests.
    page.add_init_script(
        "document.addEventListener('gridops:map-ready', (e) => { window.__gridopsMap = e.detail.map; });"
    )
    # Every websocket the page opens, so tests can break the link like a flaky network does.
    page.add_init_script(
        "window.__gridopsSockets = []; const NativeWebSocket = window.WebSocket;"
        "window.WebSocket = class extends NativeWebSocket {"
        "  constructor(...args) { super(...args); window.__gridopsSockets.push(this); } };"
    )
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def page(browser, page_log):
    page = logged_page(browser, page_log, viewport={"width": 1400, "height": 900})
    yield page
    page.context.close()


# Where the phone is: inside cell (0, 0) of the tiny county, 丹东街道, team 一中队.
PHONE_FIX = {"longitude": 121.005, "latitude": 29.005, "accuracy": 12}


@pytest.fixture
def phone(browser, page_log):
    """A phone: small touch screen, geolocation granted and fixed at PHONE_FIX."""
    page = logged_page(
        browser,
        page_log,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation=PHONE_FIX,
        permissions=["geolocation"],
    )
    yield page
    page.context.close()


def grid_worker(county, username: str = "worker", password: str = "test-pass-123"):
    """A member of the grid_worker group who looks after cell (0, 0) of the tiny county."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username, password=password, first_name="网格员")
    user.groups.add(Group.objects.get_or_create(name="grid_worker")[0])
    county.cells[(0, 0)].workers.add(user)
    return user


@pytest.fixture
def tiny_county_live(transactional_db, live_server, settings):
    """The tiny county in a committed transaction the live server can see, with the service
    area widened to it."""
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    return build_tiny_county()


@pytest.fixture
def asgi_server(transactional_db, settings):
    """The real ASGI application (HTTP and /ws/live/) under uvicorn in a thread of this process,
    so it uses the test database; pytest-django's live_server speaks WSGI only (no websockets)."""
    import socket
    import threading
    import time

    import uvicorn

    from config.asgi import application

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

    class Server:
        """`stop()` is a server-side outage (every socket closed by the server, connections
        refused); `start()` brings it back on the same port."""

        def __init__(self) -> None:
            self.url = f"http://127.0.0.1:{port}"
            self.server = None
            self.thread = None

        def start(self) -> None:
            self.server = uvicorn.Server(
                uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
            )
            self.thread = threading.Thread(target=self.server.run, name="asgi-test-server", daemon=True)
            self.thread.start()
            deadline = time.monotonic() + 10
            while not self.server.started:
                if time.monotonic() > deadline or not self.thread.is_alive():
                    raise RuntimeError("uvicorn did not start")
                time.sleep(0.05)

        def stop(self) -> None:
            self.server.should_exit = True
            self.thread.join(timeout=10)

    running = Server()
    running.start()
    yield running
    running.stop()


def login(page, base_url: str, username: str, password: str, next_path: str = "/") -> None:
    """Sign in through the login page, as a person would, and land on `next_path`."""
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"{base_url}{next_path}", wait_until="domcontentloaded")


# A 1×1 PNG: the tile a test serves in place of a real basemap.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


# Screenshots for reviewers: var/screenshots/ (or $GRIDOPS_SCREENSHOTS), overwritten each run.
SCREENSHOT_DIR = Path(
    os.environ.get("GRIDOPS_SCREENSHOTS", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG of what the browser shows now, for a person to look at."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@pytest.fixture
def worker_page(asgi_server, phone, settings):
    """The tiny county, a grid worker signed in on the phone at /report/, located and routed."""
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    county = build_tiny_county()
    worker = grid_worker(county)
    login(phone, asgi_server.url, "worker", "test-pass-123", next_path="/report/")
    phone.wait_for_selector("#route-box[data-state='routed']")
    phone.wait_for_selector(".matter-option[data-code='ZH-001']")
    return county, worker
