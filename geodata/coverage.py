"""Check a coverage version: every valid cell in exactly one zone per domain, and a sound grid.

Problems found (each names the cell, and the zones involved where there are any):

    gap                  a valid cell in no comprehensive zone; for another domain, in no zone of that
                         domain — only when the domain has any zone at all in the version
    overlap              a cell in two zones of the same domain in the same version
    invalid_geometry     ST_IsValid false for a zone or a valid cell (the check constraints forbid it:
                         this catches data restored around them)
    zone_geom_mismatch   a zone's stored polygon does not cover one of its cells, is missing, or is
                         larger than its cells together (it should be exactly their union)
    cell_outside_village ST_Covers(village.geom, cell.geom) is false
    township_mismatch    cell.township is not the village's parent

Every check is one set-based query (no per-cell Python loop), so 100,000 cells take seconds; the
zone-polygon check compares coverage and areas instead of re-computing ST_Union for each zone.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.db.models.functions import AsGeoJSON, IsValid
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import BooleanField, Count, Exists, F, FloatField, Func, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from geodata.importing import text_table
from geodata.models import CoverageVersion, Domain, EnforcementZone, GridCell, ZoneCell
from geodata.selectors import coverage_version_in_force, gridcell_valid_on_q

GAP = "gap"
OVERLAP = "overlap"
INVALID_GEOMETRY = "invalid_geometry"
ZONE_GEOM_MISMATCH = "zone_geom_mismatch"
CELL_OUTSIDE_VILLAGE = "cell_outside_village"
TOWNSHIP_MISMATCH = "township_mismatch"
NO_VERSION = "no_version"
# Marked for translation here, translated when shown.
KIND_LABELS = {
    GAP: gettext_noop("空白（无片区）"),
    OVERLAP: gettext_noop("重叠（同领域多片区）"),
    INVALID_GEOMETRY: gettext_noop("几何无效"),
    ZONE_GEOM_MISMATCH: gettext_noop("片区多边形与网格不符"),
    CELL_OUTSIDE_VILLAGE: gettext_noop("网格超出所属村"),
    TOWNSHIP_MISMATCH: gettext_noop("网格所属乡镇与村的上级不符"),
    NO_VERSION: gettext_noop("没有生效的覆盖版本"),
}
# A zone polygon may exceed the sum of its cells' areas by float noise only (relative).
AREA_TOLERANCE = 1e-6


@dataclass(frozen=True)
class CoverageProblem:
    kind: str
    cell_code: str | None
    domain: str | None = None
    zones: tuple[str, ...] = ()
    detail: str = ""

    @property
    def kind_label(self) -> str:
        return _(KIND_LABELS[self.kind])


@dataclass
class CoverageReport:
    version: CoverageVersion | None
    checked_on: datetime.date
    cell_count: int = 0
    problems: list[CoverageProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.problems:
            counts[p.kind] = counts.get(p.kind, 0) + 1
        return counts

    def of_kind(self, kind: str) -> list[CoverageProblem]:
        return [p for p in self.problems if p.kind == kind]

    def as_text(self, *, limit: int | None = None) -> str:
        head = _("覆盖版本：%(v)s；检查日期 %(d)s；有效网格 %(n)d 个。") % {
            "v": self.version or "—",
            "d": self.checked_on,
            "n": self.cell_count,
        }
        if self.ok:
            return head + "\n" + _("未发现问题。")
        summary = "；".join(f"{_(KIND_LABELS[k])} {n}" for k, n in self.counts().items())
        shown = self.problems if limit is None else self.problems[:limit]
        rows = [
            (
                p.kind_label,
                p.cell_code or "—",
                Domain(p.domain).label if p.domain else "—",
                "、".join(p.zones) or "—",
                p.detail,
            )
            for p in shown
        ]
        table = text_table((_("问题"), _("网格"), _("领域"), _("片区"), _("说明")), rows)
        more = len(self.problems) - len(shown)
        tail = "\n" + _("……另有 %(n)d 条未列出。") % {"n": more} if more > 0 else ""
        found = _("发现问题")
        return f"{head}\n{found}：{summary}\n\n{table}{tail}"

    def as_geojson(self) -> dict[str, Any]:
        """A FeatureCollection of the problem cells (and of zones for zone-level problems)."""
        codes = {p.cell_code for p in self.problems if p.cell_code}
        cell_shapes = dict(
            GridCell.objects.filter(code__in=codes).annotate(gj=AsGeoJSON("geom")).values_list("code", "gj")
        )
        zone_shapes: dict[str, str] = {}
        if self.version is not None:
            zone_shapes = dict(
                EnforcementZone.objects.filter(version=self.version, geom__isnull=False)
                .annotate(gj=AsGeoJSON("geom"))
                .values_list("name", "gj")
            )
        features = []
        for p in self.problems:
            shape = cell_shapes.get(p.cell_code) if p.cell_code else None
            if shape is None and p.zones:
                shape = zone_shapes.get(p.zones[0])
            features.append(
                {
                    "type": "Feature",
                    "geometry": json.loads(shape) if shape else None,
                    "properties": {
                        "problem": p.kind,
                        "problem_label": p.kind_label,
                        "cell": p.cell_code,
                        "domain": p.domain,
                        "zones": list(p.zones),
                        "detail": p.detail,
                    },
                }
            )
        return {"type": "FeatureCollection", "features": features}


def coverage_validate(
    *, version: CoverageVersion | None = None, day: datetime.date | None = None
) -> CoverageReport:
    """Validate ``version`` (default: the published version in force now) against the cells valid on
    ``day`` (default: today)."""
    day = day or timezone.localdate()
    version = version or coverage_version_in_force()
    valid = GridCell.objects.filter(gridcell_valid_on_q(on=day))
    report = CoverageReport(version=version, checked_on=day, cell_count=valid.count())
    problems = report.problems
    if version is None:
        problems.append(CoverageProblem(NO_VERSION, None, detail=_("没有已发布且已生效的覆盖版本。")))
    else:
        problems += _gaps(version, valid)
        problems += _overlaps(version)
        problems += _invalid_geometries(version, valid)
        problems += _zone_geom_mismatches(version)
    problems += _cells_outside_village(valid)
    problems += _township_mismatches(valid)
    return report


def coverage_assignment_problems(
    *, version: CoverageVersion, day: datetime.date | None = None
) -> tuple[list[CoverageProblem], list[CoverageProblem]]:
    """(gaps, overlaps) of ``version`` against the cells valid on ``day``: the checks of who covers
    which cell only. A planner's draft needs no more (its zone polygons are rebuilt from the cells
    on every edit), and the zone-polygon check costs seconds on thousands of cells."""
    valid = GridCell.objects.filter(gridcell_valid_on_q(on=day or timezone.localdate()))
    return _gaps(version, valid), _overlaps(version)


def _gaps(version: CoverageVersion, valid) -> list[CoverageProblem]:
    domains = set(EnforcementZone.objects.filter(version=version).values_list("domain", flat=True))
    domains.add(Domain.COMPREHENSIVE)
    problems = []
    for domain in sorted(domains, key=lambda d: (d != Domain.COMPREHENSIVE, d)):
        in_zone = ZoneCell.objects.filter(cell=OuterRef("pk"), zone__version=version, zone__domain=domain)
        for code in valid.filter(~Exists(in_zone)).order_by("code").values_list("code", flat=True):
            problems.append(
                CoverageProblem(
                    GAP, code, domain, detail=_("该网格不在任何%(d)s片区内。") % {"d": Domain(domain).label}
                )
            )
    return problems


def _overlaps(version: CoverageVersion) -> list[CoverageProblem]:
    rows = (
        ZoneCell.objects.filter(zone__version=version)
        .values("cell__code", "zone__domain")
        .annotate(n=Count("zone_id", distinct=True), zones=ArrayAgg("zone__name", order_by="zone__name"))
        .filter(n__gt=1)
        .order_by("cell__code", "zone__domain")
    )
    return [
        CoverageProblem(
            OVERLAP,
            r["cell__code"],
            r["zone__domain"],
            tuple(r["zones"]),
            _("同一领域 %(n)d 个片区都包含该网格。") % {"n": r["n"]},
        )
        for r in rows
    ]


def _invalid_geometries(version: CoverageVersion, valid) -> list[CoverageProblem]:
    problems = [
        CoverageProblem(INVALID_GEOMETRY, None, domain, (name,), _("片区多边形无效（ST_IsValid 为假）。"))
        for name, domain in EnforcementZone.objects.filter(version=version, geom__isnull=False)
        .annotate(ok=IsValid("geom"))
        .filter(ok=False)
        .values_list("name", "domain")
    ]
    problems += [
        CoverageProblem(INVALID_GEOMETRY, code, detail=_("网格多边形无效（ST_IsValid 为假）。"))
        for code in valid.annotate(ok=IsValid("geom")).filter(ok=False).values_list("code", flat=True)
    ]
    return problems


def _zone_geom_mismatches(version: CoverageVersion) -> list[CoverageProblem]:
    """A zone polygon should be the union of its cells. Rather than re-union every zone (seconds per
    large zone), check both halves set-wise: it covers each of its cells, and its area is not larger
    than theirs together (cells of a zone tile, so their areas add up)."""
    problems = []
    uncovered = (
        ZoneCell.objects.filter(zone__version=version)
        .annotate(
            covered=Func(F("zone__geom"), F("cell__geom"), function="ST_Covers", output_field=BooleanField())
        )
        .filter(Q(covered=False) | Q(zone__geom__isnull=True))
        .order_by("zone__name", "cell__code")
        .values_list("cell__code", "zone__domain", "zone__name", "zone__geom")
    )
    for code, domain, zone, geom in uncovered:
        detail = _("片区没有多边形。") if geom is None else _("片区多边形没有覆盖该网格。")
        problems.append(CoverageProblem(ZONE_GEOM_MISMATCH, code, domain, (zone,), detail))
    planar_area = {"function": "ST_Area", "output_field": FloatField()}
    too_large = (
        EnforcementZone.objects.filter(version=version, geom__isnull=False)
        .annotate(
            zone_area=Func(F("geom"), **planar_area), cells_area=Sum(Func(F("cells__geom"), **planar_area))
        )
        .filter(zone_area__gt=F("cells_area") * (1 + AREA_TOLERANCE))
        .values_list("name", "domain", "zone_area", "cells_area")
    )
    for zone, domain, zone_area, cells_area in too_large:
        problems.append(
            CoverageProblem(
                ZONE_GEOM_MISMATCH,
                None,
                domain,
                (zone,),
                _("片区多边形比其网格合计大 %(pct).2f%%。")
                % {"pct": (zone_area / cells_area - 1) * 100 if cells_area else 100},
            )
        )
    return problems


def _cells_outside_village(valid) -> list[CoverageProblem]:
    rows = (
        valid.annotate(
            inside=Func(F("village__geom"), F("geom"), function="ST_Covers", output_field=BooleanField())
        )
        .filter(inside=False)
        .order_by("code")
        .values_list("code", "village__code")
    )
    return [
        CoverageProblem(
            CELL_OUTSIDE_VILLAGE, code, detail=_("网格不完全在村 %(v)s 范围内。") % {"v": village}
        )
        for code, village in rows
    ]


def _township_mismatches(valid) -> list[CoverageProblem]:
    rows = (
        valid.filter(Q(village__parent__isnull=True) | ~Q(township_id=F("village__parent_id")))
        .order_by("code")
        .values_list("code", "township__code", "village__code", "village__parent__code")
    )
    return [
        CoverageProblem(
            TOWNSHIP_MISMATCH,
            code,
            detail=_("网格登记的乡镇为 %(t)s，而村 %(v)s 的上级是 %(p)s。") % {"t": t, "v": v, "p": p or "—"},
        )
        for code, t, v, p in rows
    ]
