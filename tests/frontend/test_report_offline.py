"""The phone page /report/ opens with no network: its service worker (/report/sw.js) keeps a copy
of the page and its static files; the reports made there wait in the outbox and arrive once.

    online visit ──► sw.js installs: precache static files + a copy of /report/
    no network   ──► reload: the copy (navigation network first, 4 s, then the cache)
                     report → IndexedDB outbox (queued)
    network back ──► "online" → POST, once (client_uuid)
"""

import re

import pytest
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

from frontend import phone as phone_module
from frontend.phone import REPORT_STATIC_FILES, report_sw_version
from gridops.models import Report
from tests.frontend.conftest import TINY_COUNTY_SERVICE_AREA, grid_worker, screenshot
from tests.frontend.test_report_page import browser_failures

PASSWORD = "test-pass-123"


# --- the script (no browser) --------------------------------------------------------------------------


@pytest.mark.django_db
def test_service_worker_script(client):
    """Public (the browser re-fetches it by itself), never cached, and lists the page's files."""
    response = client.get("/report/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    script = response.content.decode()
    assert f'"{staticfiles_storage.url("frontend/report.js")}"' in script
    assert f'const VERSION = "{report_sw_version()}";' in script
    assert 'const PAGE_URL = new URL("/report/"' in script
    assert "{{" not in script and "{%" not in script


def test_cache_version_follows_the_files_and_their_contents(tmp_path, monkeypatch):
    assert report_sw_version() == report_sw_version(REPORT_STATIC_FILES)
    assert report_sw_version(REPORT_STATIC_FILES[:-1]) != report_sw_version(REPORT_STATIC_FILES)

    deployed = tmp_path / "report.js"
    monkeypatch.setattr(phone_module.finders, "find", lambda name: str(deployed))
    uncached = report_sw_version.__wrapped__  # the cache keeps one answer per process
    deployed.write_text("// first deploy")
    first = uncached(("frontend/report.js",))
    deployed.write_text("// second deploy")
    assert uncached(("frontend/report.js",)) != first


def module_imports(name: str) -> set[str]:
    """The static names of the ES modules `name` imports, and theirs (relative imports only)."""
    found = set()
    source = open(finders.find(name), encoding="utf-8").read()
    for relative in re.findall(r"""^import\s[^;]*?from\s+["']\./([\w.-]+\.js)["']""", source, re.M):
        imported = name.rsplit("/", 1)[0] + "/" + relative
        found |= {imported} | module_imports(imported)
    return found


@pytest.mark.django_db
def test_precache_list_is_every_static_file_of_the_page(client, settings):
    from tests.factories import build_tiny_county

    settings.SERVICE_AREA_BBOX = TINY_COUNTY_SERVICE_AREA
    client.force_login(grid_worker(build_tiny_county()))
    html = client.get("/report/").content.decode()
    static_url = re.escape(settings.STATIC_URL)
    loaded = set(re.findall(rf'(?:href|src)="{static_url}([^"]+)"', html))
    loaded |= {imported for name in loaded if name.endswith(".js") for imported in module_imports(name)}
    assert loaded == set(REPORT_STATIC_FILES)


# --- the browser --------------------------------------------------------------------------------------


@pytest.fixture
def offline_ready_page(worker_page, phone):
    """/report/ opened once online, with its service worker installed and controlling the page."""
    phone.evaluate("navigator.serviceWorker.ready")
    phone.wait_for_function("navigator.serviceWorker.controller !== null")
    phone.wait_for_selector("#offline-ready[data-state='ready']")
    return worker_page


def answers_to_posts(page, url_part: str) -> list[int]:
    """The status of every answer to a POST to an address containing `url_part`, as they come
    (a POST that never left the offline phone has none)."""
    statuses = []
    page.on(
        "response",
        lambda r: statuses.append(r.status) if r.request.method == "POST" and url_part in r.url else None,
    )
    return statuses


@pytest.mark.browser
@pytest.mark.slow
def test_page_opens_with_no_network_and_its_report_arrives_once(
    offline_ready_page, asgi_server, phone, page_log
):
    assert "可离线使用" in phone.inner_text("#offline-ready")
    # No network at all: the phone is offline and the server is out of reach too.
    phone.context.set_offline(True)
    asgi_server.stop()
    phone.reload()
    phone.wait_for_selector("#report-form #submit-button")
    assert phone.evaluate("navigator.serviceWorker.controller !== null")
    phone.wait_for_selector("#geo-status[data-state='located']")
    phone.wait_for_selector("#route-box[data-state='error']")  # no routing offline: said so
    assert phone.inner_text("#outbox-count") == "0"
    assert phone.is_visible("#outbox")

    # The catalogue kept from the last visit: the worker still picks the matter.
    phone.wait_for_selector("#matter-list[data-state='stored']")
    phone.fill("#matter-search", "占道")
    phone.click(".matter-option[data-code='ZH-001']")
    phone.fill("#description", "无信号村庄上报")
    phone.click("#submit-button")
    phone.wait_for_selector("#send-result[data-state='queued']")
    phone.wait_for_selector("#outbox-list [data-state='queued']")
    assert phone.inner_text("#outbox-count") == "1"
    assert not Report.objects.exists()
    phone.evaluate("window.scrollTo(0, 0)")
    screenshot(phone, "report-phone-offline")

    asgi_server.start()
    phone.context.set_offline(False)
    phone.wait_for_selector("#outbox-count[data-count='0']", timeout=20_000)
    phone.wait_for_selector("#send-result[data-state='sent']")
    assert Report.objects.filter(description="无信号村庄上报").count() == 1
    assert Report.objects.get().matter.code == "ZH-001"
    assert browser_failures(page_log.errors) == []
    assert page_log.external_requests == []


@pytest.mark.browser
@pytest.mark.slow
def test_report_with_a_stale_csrf_token_stays_queued_then_is_sent(offline_ready_page, phone, page_log):
    """The worker's CSRF cookie is gone (and the page's own token alone is refused): the report is
    queued offline, refused once for CSRF when the network returns, sent after a fresh token."""
    phone.context.clear_cookies(name="csrftoken")
    answers = answers_to_posts(phone, "/api/v1/reports/")
    phone.context.set_offline(True)
    phone.fill("#description", "令牌过期")
    phone.click("#submit-button")
    phone.wait_for_selector("#outbox-list [data-state='queued']")

    phone.context.set_offline(False)
    phone.wait_for_selector("#send-result[data-state='sent']", timeout=20_000)
    assert Report.objects.filter(description="令牌过期").count() == 1
    assert answers == [403, 201]  # refused for CSRF, then sent with the fresh cookie
    assert phone.query_selector("#outbox-list [data-state='failed']") is None
    assert any(c["name"] == "csrftoken" for c in phone.context.cookies())
    assert browser_failures(page_log.errors) == []


@pytest.mark.browser
@pytest.mark.slow
def test_csrf_refusal_that_a_fresh_token_does_not_cure_stays_queued(offline_ready_page, phone, page_log):
    answers = []

    def refuse_twice(route):
        if route.request.method != "POST":
            route.continue_()
            return
        answers.append(route.request.headers.get("x-csrftoken"))
        if len(answers) <= 2:
            route.fulfill(
                status=403,
                content_type="application/json",
                body='{"detail": "CSRF Failed: CSRF token missing."}',
            )
        else:
            route.continue_()

    phone.route("**/api/v1/reports/", refuse_twice)
    phone.fill("#description", "反复拒绝")
    phone.click("#submit-button")
    phone.wait_for_function("window.document.querySelector('#outbox-list [data-state=queued]') !== null")
    assert phone.query_selector("#outbox-list [data-state='failed']") is None
    phone.wait_for_selector("#send-result[data-state='sent']", timeout=20_000)
    assert len(answers) == 3
    cookie = next(c["value"] for c in phone.context.cookies() if c["name"] == "csrftoken")
    assert answers[-1] == cookie  # the token is read from the cookie at send time
    assert Report.objects.filter(description="反复拒绝").count() == 1
    assert browser_failures(page_log.errors) == []
