import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient


@pytest.fixture
def planner(db) -> User:
    """A member of the planner group (coverage drafts are theirs to edit)."""
    user = User.objects.create_user("planner1", password="x")
    user.groups.add(Group.objects.get_or_create(name="planner")[0])
    return user


@pytest.fixture
def api(planner) -> APIClient:
    """The REST API as the planner."""
    client = APIClient()
    client.force_authenticate(planner)
    return client
