"""Every inspection model is in the admin, and its list and a change page open."""

import pytest
from django.contrib import admin
from django.urls import reverse

from inspections import services
from inspections.models import Draw, JointVisit, Target
from tests.inspections.conftest import make_inspector, make_target


@pytest.mark.parametrize(
    "model",
    [m for m in admin.site._registry if m._meta.app_label == "inspections"],
    ids=lambda m: m.__name__,
)
def test_admin_lists_open(model, county, admin_client):
    target = make_target("甲", 121.005, 29.005, "red")
    make_inspector(county.teams["market"], "检查员一")
    make_inspector(county.teams["market"], "检查员二")
    services.draw_run(domain="market", seed=1)
    assert (
        admin_client.get(reverse(f"admin:inspections_{model._meta.model_name}_changelist")).status_code == 200
    )
    for obj in (target, Draw.objects.first()):
        url = reverse(f"admin:inspections_{obj._meta.model_name}_change", args=[obj.pk])
        assert admin_client.get(url).status_code == 200


def test_every_model_is_registered():
    from django.apps import apps

    missing = [
        m.__name__ for m in apps.get_app_config("inspections").get_models() if m not in admin.site._registry
    ]
    assert missing == [], missing
    assert JointVisit in admin.site._registry and Target in admin.site._registry
