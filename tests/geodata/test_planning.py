"""Coverage planning: drafts, zone edits, validation, publishing, rollback (geodata.planning + API).

The tiny county (tests/factories.py): 一中队 (W) covers columns x 0–1, 二中队 (E) columns x 2–3,
市场监管 covers all 16 cells. The cell moved in these tests is (1, 0):

    y=0  │ W  │ W→E│ E  │ E  │      point 121.015 E, 29.005 N lies inside it
         x=0  x=1  x=2  x=3
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from geodata import planning
from geodata.coverage import ZONE_GEOM_MISMATCH, coverage_validate
from geodata.errors import FieldError
from geodata.models import CoverageVersion, EnforcementZone, ZoneCell
from geodata.routing import route
from gridops.models import OutboxEvent
from gridops.realtime.events import COVERAGE_PUBLISHED

MOVED_POINT = (121.015, 29.005)


def draft_zone(draft: CoverageVersion, key_zone: EnforcementZone) -> EnforcementZone:
    return EnforcementZone.objects.get(version=draft, team=key_zone.team_id, domain=key_zone.domain)


def cell_ids(zone: EnforcementZone) -> set[int]:
    return set(ZoneCell.objects.filter(zone=zone).values_list("cell_id", flat=True))


def assert_geoms_are_unions(version: CoverageVersion) -> None:
    report = coverage_validate(version=version)
    assert not report.of_kind(ZONE_GEOM_MISMATCH), report.as_text()


def test_draft_copies_every_zone_of_the_version_in_force(tiny_county, planner):
    draft = planning.draft_create(name="2027 草稿", actor=planner)
    assert draft.status == CoverageVersion.Status.DRAFT and draft.revision == 0
    assert draft.based_on == tiny_county.version
    for key, zone in tiny_county.zones.items():
        copy = draft_zone(draft, zone)
        assert copy.pk != zone.pk and copy.name == zone.name, key
        assert cell_ids(copy) == cell_ids(zone)
        assert copy.geom.equals(zone.geom)
    assert planning.draft_validate(draft=draft).ok


def test_gap_is_reported_and_publishing_needs_an_override_reason(tiny_county, planner):
    draft = planning.draft_create(name="草稿", actor=planner)
    west = draft_zone(draft, tiny_county.zones["W"])
    removed = tiny_county.cells[(1, 0)]
    planning.zone_set_cells(zone=west, cell_ids=cell_ids(west) - {removed.pk}, expected_revision=0)
    west.refresh_from_db()
    assert not west.geom.intersection(removed.geom).area
    assert_geoms_are_unions(draft)

    check = planning.draft_validate(draft=draft)
    assert [(p.cell_code, p.domain) for p in check.gaps] == [(removed.code, "comprehensive")]
    assert not check.overlaps

    effective = timezone.now() + timedelta(hours=1)
    with pytest.raises(FieldError) as refused:
        planning.draft_publish(draft=draft, effective_from=effective, actor=planner)
    assert refused.value.field == "override_reason"
    draft.refresh_from_db()
    assert draft.status == CoverageVersion.Status.DRAFT

    published = planning.draft_publish(
        draft=draft, effective_from=effective, actor=planner, override_reason="该网格移交开发区"
    )
    assert published.status == CoverageVersion.Status.PUBLISHED and published.published_at
    assert "该网格移交开发区" in published.note
    event = OutboxEvent.objects.get(type=COVERAGE_PUBLISHED)
    assert event.streams == ["county"]
    assert event.data["id"] == published.pk and event.data["name"] == "草稿"


def test_moved_cell_routes_to_the_new_team_from_the_effective_time(tiny_county, planner):
    from gridops.models import Report
    from gridops.services.reports import ReportInput, report_submit

    old_report, _created = report_submit(data=ReportInput(source="citizen", lon=121.015, lat=29.005))
    assert old_report.team == tiny_county.teams["W"]

    draft = planning.draft_create(name="调整", actor=planner)
    west, east = draft_zone(draft, tiny_county.zones["W"]), draft_zone(draft, tiny_county.zones["E"])
    moved = tiny_county.cells[(1, 0)].pk
    planning.zone_set_cells(zone=west, cell_ids=cell_ids(west) - {moved}, expected_revision=0)
    planning.zone_set_cells(zone=east, cell_ids=cell_ids(east) | {moved}, expected_revision=1)
    assert planning.draft_validate(draft=draft).ok
    effective = timezone.now() + timedelta(hours=2)
    planning.draft_publish(draft=draft, effective_from=effective, actor=planner)

    before = route(*MOVED_POINT, at=effective - timedelta(seconds=1))
    after = route(*MOVED_POINT, at=effective)
    assert before.team["code"] == "zh-1" and before.coverage_version["id"] == tiny_county.version.pk
    assert after.team["code"] == "zh-2" and after.coverage_version["id"] == draft.pk
    old_report = Report.objects.get(pk=old_report.pk)
    assert old_report.coverage_version_id == tiny_county.version.pk
    assert old_report.team == tiny_county.teams["W"]


def test_published_versions_cannot_be_edited(tiny_county):
    zone = tiny_county.zones["W"]
    with pytest.raises(FieldError) as refused:
        planning.zone_set_cells(zone=zone, cell_ids=[], expected_revision=0)
    assert refused.value.field == "status"
    assert cell_ids(zone)


def test_stale_save_is_refused(tiny_county, planner):
    draft = planning.draft_create(name="草稿", actor=planner)
    west = draft_zone(draft, tiny_county.zones["W"])
    planning.zone_set_cells(zone=west, cell_ids=cell_ids(west), expected_revision=0)
    with pytest.raises(planning.StaleDraft) as stale:
        planning.zone_set_cells(zone=west, cell_ids=[], expected_revision=0)
    assert stale.value.current_revision == 1
    assert cell_ids(west)


def test_merge_and_split_keep_every_cell_exactly_once(tiny_county, planner):
    draft = planning.draft_create(name="草稿", actor=planner)
    west = draft_zone(draft, tiny_county.zones["W"])
    all_west = cell_ids(west)
    south = [tiny_county.cells[(x, 0)].pk for x in (0, 1)]
    new = planning.zone_split(zone=west, cell_ids=south, name="一中队南片", expected_revision=0)
    assert new.team_id == west.team_id and new.domain == west.domain
    assert cell_ids(new) == set(south) and cell_ids(west) == all_west - set(south)
    assert planning.draft_validate(draft=draft).ok
    assert_geoms_are_unions(draft)

    merged = planning.zone_merge(zones=[west, new], name="一中队片区", expected_revision=1)
    assert cell_ids(merged) == all_west and merged.name == "一中队片区"
    assert not EnforcementZone.objects.filter(pk=new.pk).exists()
    assert planning.draft_validate(draft=draft).ok
    assert_geoms_are_unions(draft)

    east = draft_zone(draft, tiny_county.zones["E"])
    with pytest.raises(FieldError, match="同一队伍"):
        planning.zone_merge(zones=[merged, east], name="x", expected_revision=2)
    with pytest.raises(FieldError):
        planning.zone_split(zone=merged, cell_ids=list(all_west), name="全部", expected_revision=2)


def test_rollback_publishes_a_new_copy_of_an_older_version(tiny_county, planner):
    old = tiny_county.version
    draft = planning.draft_create(name="新版", actor=planner)
    planning.zone_delete(zone=draft_zone(draft, tiny_county.zones["market"]), expected_revision=0)
    planning.draft_publish(draft=draft, effective_from=timezone.now() - timedelta(minutes=5), actor=planner)

    back = planning.version_rollback(to_version=old, effective_from=timezone.now(), actor=planner)
    assert back.status == CoverageVersion.Status.PUBLISHED and back.pk not in (old.pk, draft.pk)
    assert back.based_on == old
    for zone in tiny_county.zones.values():
        assert cell_ids(draft_zone(back, zone)) == cell_ids(zone)
    assert CoverageVersion.objects.filter(status=CoverageVersion.Status.PUBLISHED).count() == 3
    assert route(*MOVED_POINT, matter="SC-001").coverage_version["id"] == back.pk


# --- over HTTP -----------------------------------------------------------------------------------------


def test_planning_over_http(tiny_county, api):
    created = api.post("/api/v1/coverage-versions/", {"name": "HTTP 草稿"}, format="json")
    assert created.status_code == 201, created.data
    draft_id = created.data["id"]
    west = EnforcementZone.objects.get(version_id=draft_id, team=tiny_county.teams["W"])
    keep = sorted(cell_ids(west) - {tiny_county.cells[(1, 0)].pk})
    patched = api.patch(f"/api/v1/zones/{west.pk}/", {"cells": keep, "revision": 0}, format="json")
    assert patched.status_code == 200, patched.data
    assert patched.data["cells"] == keep and patched.data["revision"] == 1

    checked = api.get(f"/api/v1/coverage-versions/{draft_id}/validate/")
    assert checked.status_code == 200 and not checked.data["ok"]
    assert [g["cell"] for g in checked.data["gaps"]] == [tiny_county.cells[(1, 0)].code]

    url = f"/api/v1/coverage-versions/{draft_id}/publish/"
    effective = (timezone.now() + timedelta(hours=1)).isoformat()
    refused = api.post(url, {"effective_from": effective}, format="json")
    assert refused.status_code == 400 and "override_reason" in refused.data
    ok = api.post(url, {"effective_from": effective, "override_reason": "试点"}, format="json")
    assert ok.status_code == 200 and ok.data["status"] == "published"
    again = api.patch(
        f"/api/v1/zones/{west.pk}/", {"cells": keep, "revision": ok.data["revision"]}, format="json"
    )
    assert again.status_code == 400 and "status" in again.data


def test_concurrent_stale_save_answers_409(tiny_county, api):
    draft_id = api.post("/api/v1/coverage-versions/", {"name": "草稿"}, format="json").data["id"]
    west = EnforcementZone.objects.get(version_id=draft_id, team=tiny_county.teams["W"])
    cells = sorted(cell_ids(west))
    first = api.patch(f"/api/v1/zones/{west.pk}/", {"cells": cells[1:], "revision": 0}, format="json")
    second = api.patch(f"/api/v1/zones/{west.pk}/", {"cells": cells[:1], "revision": 0}, format="json")
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.data["current_revision"] == 1 and second.data["revision"]
    assert cell_ids(west) == set(cells[1:])
    deleted = api.delete(f"/api/v1/zones/{west.pk}/?revision=0")
    assert deleted.status_code == 409
    assert api.delete(f"/api/v1/zones/{west.pk}/?revision=1").status_code == 204


def test_merge_split_rollback_over_http(tiny_county, api):
    draft_id = api.post("/api/v1/coverage-versions/", {"name": "草稿"}, format="json").data["id"]
    west = EnforcementZone.objects.get(version_id=draft_id, team=tiny_county.teams["W"])
    south = [tiny_county.cells[(x, 0)].pk for x in (0, 1)]
    split = api.post(
        f"/api/v1/coverage-versions/{draft_id}/split/",
        {"zone": west.pk, "cells": south, "name": "南片", "revision": 0},
        format="json",
    )
    assert split.status_code == 201, split.data
    merged = api.post(
        f"/api/v1/coverage-versions/{draft_id}/merge/",
        {"zones": [west.pk, split.data["id"]], "name": "合并", "revision": 1},
        format="json",
    )
    assert merged.status_code == 200, merged.data
    assert len(merged.data["cells"]) == 8
    created = api.post(
        f"/api/v1/coverage-versions/{draft_id}/zones/",
        {"team": "fishery", "name": "渔业片区", "cells": south, "revision": 2},
        format="json",
    )
    assert created.status_code == 201 and created.data["domain"] == "fishery"
    rolled = api.post(
        f"/api/v1/coverage-versions/{tiny_county.version.pk}/rollback/",
        {"effective_from": timezone.now().isoformat()},
        format="json",
    )
    assert rolled.status_code == 201 and rolled.data["status"] == "published"


def test_non_planners_are_refused(tiny_county):
    client = APIClient()
    client.force_authenticate(User.objects.create_user("dispatcher1", password="x"))
    assert client.post("/api/v1/coverage-versions/", {"name": "x"}, format="json").status_code == 403
    zone = tiny_county.zones["W"]
    assert (
        client.patch(f"/api/v1/zones/{zone.pk}/", {"cells": [], "revision": 0}, format="json").status_code
        == 403
    )
    assert client.get(f"/api/v1/coverage-versions/{tiny_county.version.pk}/validate/").status_code == 403
    anonymous = APIClient().post("/api/v1/coverage-versions/", {"name": "x"}, format="json")
    assert anonymous.status_code in (401, 403)
    assert client.get("/api/v1/coverage-versions/").status_code == 200  # reading stays open


def test_a_zone_is_handed_to_another_team_and_domain_in_one_edit(tiny_county, api):
    """The east zone (二中队) is given to 一中队 and renamed (its cells stay), then moved to another
    domain; a stale edit is refused and an edit that names nothing is a 400."""
    draft_id = api.post("/api/v1/coverage-versions/", {"name": "交接"}, format="json").data["id"]
    east = EnforcementZone.objects.get(version_id=draft_id, team=tiny_county.teams["E"])
    changed = api.patch(
        f"/api/v1/zones/{east.pk}/", {"team": "zh-1", "name": "一中队东片", "revision": 0}, format="json"
    )
    assert changed.status_code == 200, changed.data
    east.refresh_from_db()
    assert (
        east.team == tiny_county.teams["W"] and east.name == "一中队东片" and east.domain == "comprehensive"
    )
    assert changed.data["revision"] == 1
    assert cell_ids(east) == {c.pk for (x, _y), c in tiny_county.cells.items() if x >= 2}  # cells untouched
    unknown = api.patch(f"/api/v1/zones/{east.pk}/", {"team": "nope", "revision": 1}, format="json")
    assert unknown.status_code == 400 and "team" in unknown.data
    nothing = api.patch(f"/api/v1/zones/{east.pk}/", {"revision": 1}, format="json")
    assert nothing.status_code == 400
    stale = api.patch(f"/api/v1/zones/{east.pk}/", {"domain": "market", "revision": 0}, format="json")
    assert stale.status_code == 409
    moved = api.patch(f"/api/v1/zones/{east.pk}/", {"domain": "market", "revision": 1}, format="json")
    assert moved.status_code == 200 and moved.data["domain"] == "market"
