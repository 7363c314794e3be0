import os

import pytest


def pytest_configure(config):
    """Parallel workers (pytest -n) share one Redis: each gets its own channel-layer prefix, or a
    console served by one worker hears the events (and sequence numbers) of another's database."""
    from django.conf import settings

    # Users are created by the hundred; PBKDF2's deliberate slowness (~0.3 s a password) only
    # slows the suite. Logging in still checks the password, with a fast hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"gridops-test-{worker}"


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop on the main thread for the
    whole session (the browser is session-scoped), after which async_to_sync in the main thread
    (websocket tests) refuses to run."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session", autouse=True)
def _relay_stopped_before_the_database_goes(django_db_setup):
    """Transactional tests start this process's outbox relay thread; stop it while the test
    database still exists (depending on django_db_setup makes this teardown run before its own)."""
    yield
    from gridops.realtime.outbox import relay_stop

    relay_stop()


@pytest.fixture(autouse=True)
def _relay_stopped_before_the_flush(request):
    """A transactional test ends with a TRUNCATE of every table; this process's relay thread, left
    running by the test, may be numbering events at that moment, and PostgreSQL then breaks the
    deadlock by failing the flush (seen in tests/gridops/test_cameras.py). Stop the relay first:
    requesting the database fixture here makes this teardown run before the flush. The next event
    written starts it again."""
    if "_django_db_helper" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    from gridops.realtime.outbox import relay_stop

    relay_stop()


@pytest.fixture(autouse=True)
def _database_not_marked_unavailable():
    """config/dbstate.py's mark is process-wide: a test that met (or made) an unavailable database
    must not leave the next test's consoles skipping their database work."""
    from config import dbstate

    dbstate.mark_available()
    yield
    dbstate.mark_available()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (zh-hans): a test that switches to English (a
    page's language switch, translation.activate) must not change what the next one reads."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _routing_index_always_fresh(settings):
    """Tests change geodata between lookups: check the revision on every lookup."""
    settings.ROUTING_INDEX_CHECK_SECONDS = 0
    from gridops.auth import CachedTokenAuthentication, KeyCache

    CachedTokenAuthentication.cache_clear()  # a token resolved in one test never leaks into the next
    KeyCache.clear()  # nor a device key
    # The tiny county (121.00 E, 29.00 N) lies west of the demo service area: widen it for tests.
    settings.SERVICE_AREA_BBOX = (120.9, 28.6, 122.6, 29.9)


@pytest.fixture
def tiny_county(db):
    from tests.factories import build_tiny_county

    return build_tiny_county()
