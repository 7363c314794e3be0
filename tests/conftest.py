import pytest


@pytest.fixture(autouse=True)
def _routing_index_always_fresh(settings):
    """Tests change geodata between lookups: check the revision on every lookup."""
    settings.ROUTING_INDEX_CHECK_SECONDS = 0
    # The tiny county (121.00 E, 29.00 N) lies west of the demo service area: widen it for tests.
    settings.SERVICE_AREA_BBOX = (120.9, 28.6, 122.6, 29.9)


@pytest.fixture
def tiny_county(db):
    from tests.factories import build_tiny_county

    return build_tiny_county()
