"""The geodata admin renders every page for a superuser on the tiny county, in Chinese, with maps."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from geodata.models import CoverageVersion, EnforcementZone, GeodataRevision, Officer, ZoneCell


@pytest.fixture
def county_with_everything(tiny_county, django_user_model):
    worker = django_user_model.objects.create(username="worker")
    tiny_county.cells[(0, 0)].workers.add(worker)
    tiny_county.officer = Officer.objects.create(team=tiny_county.teams["W"], name="张三", certificate_no="1")
    tiny_county.draft = CoverageVersion.objects.create(name="草稿", based_on=tiny_county.version)
    tiny_county.draft_zone = EnforcementZone.objects.create(
        version=tiny_county.draft, team=tiny_county.teams["W"], name="草稿片区", domain="comprehensive"
    )
    return tiny_county


def instances(tc) -> dict[str, object]:
    return {
        "region": tc.townships["W"],
        "gridcell": tc.cells[(0, 0)],
        "team": tc.teams["W"],
        "officer": tc.officer,
        "coverageversion": tc.version,
        "enforcementzone": tc.zones["W"],
        "matter": tc.matters["vending"],
        "geodatarevision": GeodataRevision.objects.get(),
    }


def test_every_geodata_model_but_the_through_table_is_registered():
    models = {m for m in apps.get_app_config("geodata").get_models() if m is not ZoneCell}
    assert models <= set(admin.site._registry)


@pytest.mark.parametrize(
    "model_name",
    [
        "region",
        "gridcell",
        "team",
        "officer",
        "coverageversion",
        "enforcementzone",
        "matter",
        "geodatarevision",
    ],
)
def test_changelist_and_change_pages_render(admin_client, county_with_everything, model_name):
    changelist = admin_client.get(reverse(f"admin:geodata_{model_name}_changelist"))
    assert changelist.status_code == 200
    obj = instances(county_with_everything)[model_name]
    change = admin_client.get(reverse(f"admin:geodata_{model_name}_change", args=[obj.pk]))
    assert change.status_code == 200
    if model_name != "geodatarevision":
        assert admin_client.get(reverse(f"admin:geodata_{model_name}_add")).status_code == 200


def test_admin_speaks_chinese_and_draws_maps(admin_client, county_with_everything):
    page = admin_client.get(
        reverse("admin:geodata_gridcell_change", args=[county_with_everything.cells[(0, 0)].pk])
    )
    html = page.content.decode()
    assert "网格员" in html and "乡镇（街道）" in html
    assert "leaflet" in html.lower()
    # Grid workers are picked with the horizontal filter widget, regions by autocomplete.
    assert "selectfilter" in html.lower()
    assert "admin-autocomplete" in html


def test_changelists_search_and_filter(admin_client, county_with_everything):
    url = reverse("admin:geodata_gridcell_changelist")
    assert admin_client.get(url, {"q": "丹东街道"}).status_code == 200
    assert admin_client.get(url, {"valid_today": "no"}).status_code == 200
    east = admin_client.get(url, {"township": "330225101"})
    assert east.status_code == 200 and east.context["cl"].result_count == 8
    response = admin_client.get(reverse("admin:geodata_enforcementzone_changelist"))
    html = response.content.decode()
    assert "网格数" in html and ">16<" in html  # the market zone shows its cell count


def test_region_autocomplete_offers_only_the_level_the_field_needs(admin_client, county_with_everything):
    def offered(field_name: str) -> set[str]:
        response = admin_client.get(
            reverse("admin:autocomplete"),
            {"app_label": "geodata", "model_name": "gridcell", "field_name": field_name, "term": "丹东"},
        )
        assert response.status_code == 200
        return {r["text"] for r in response.json()["results"]}

    assert offered("township") == {"丹东街道（330225001）"}
    assert offered("village") == {"丹东街道S村（330225001001）", "丹东街道N村（330225001002）"}


def test_published_coverage_is_read_only(admin_client, county_with_everything):
    tc = county_with_everything
    published = admin_client.get(reverse("admin:geodata_coverageversion_change", args=[tc.version.pk]))
    assert b'name="name"' not in published.content
    draft = admin_client.get(reverse("admin:geodata_coverageversion_change", args=[tc.draft.pk]))
    assert b'name="name"' in draft.content
    zone = admin_client.get(reverse("admin:geodata_enforcementzone_change", args=[tc.zones["W"].pk]))
    assert b'name="name"' not in zone.content
    assert '<div class="readonly">8</div>' in zone.content.decode()  # the cell count, not a widget
    draft_zone = admin_client.get(reverse("admin:geodata_enforcementzone_change", args=[tc.draft_zone.pk]))
    assert b'name="name"' in draft_zone.content
