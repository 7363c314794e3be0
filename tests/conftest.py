import pytest


@pytest.fixture(autouse=True)
def _routing_index_always_fresh(settings):
    """Tests change geodata between lookups: check the revision on every lookup."""
    settings.ROUTING_INDEX_CHECK_SECONDS = 0


@pytest.fixture
def tiny_county(db):
    from tests.factories import build_tiny_county

    return build_tiny_county()
