"""Inspection planning: the writes (every door — API, admin, commands — calls these).

Rules, with where they come from (../shared/seeds; docs/INSPECTIONS.md has the figures):

* 执法对象名录库 / 执法人员名录库 (Pingnan, seed 001): targets are imported from a spreadsheet, row by
  row checked (credit code check character, coordinates, township), dry run by default.
* 三色分级监管 (Xiangshan, seed 004: "对合规企业'无事不扰'，对问题企业监管'无处不在'"): a target's
  colour is changed only through `target_colour_set`, which writes the history; the colour sets
  the draw rate; a target on the no-disturbance list is left out of routine visits and draws.
* 综合查一次 / "进一次门、查多项事" (seed 004; 5,761 户次 avoided): `joint_visits_propose` merges the
  planned checks of one period on one target, or on targets within `radius_m` of each other, into
  one visit with a lead team; `joint_visits_commit` stores them.
* 双随机一公开 (seeds 000, 001): `draw_run` draws targets and inspectors with `random.Random(seed)`
  over a stored snapshot of the pool; `draw_replay` re-runs it; `draw_publish` makes it public.
* An inspection is a case of the closed loop (`inspection_case_open`): a gridops Report created
  by the intake service, assigned to the lead team and registered, then moved by case_transition.
"""

import csv
import hashlib
import io
import json
import logging
import math
import random
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import shapely
from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from geodata.coords import point_from_request
from geodata.errors import FieldError
from geodata.models import Domain, Matter, Officer, Region, Team
from geodata.routing import route
from gridops.models import Report
from gridops.services.cases import case_transition
from gridops.services.reports import ReportInput, report_assign, report_submit
from inspections.credit import credit_code_normalise, credit_code_problem
from inspections.models import (
    COLOUR_ORDER,
    Conflict,
    CreditColour,
    CreditColourChange,
    Draw,
    DrawResult,
    InspectionPlan,
    JointVisit,
    OfficerQualification,
    PlannedCheck,
    Target,
    VisitTarget,
)
from inspections.periods import period_check, period_of

logger = logging.getLogger("gridops.inspections")

REASON_MAX = 500
DRAW_SEED_MAX = 2**63 - 1
MAX_RADIUS_M = 5000.0


# --- Targets ----------------------------------------------------------------------------------------


class TargetInvalid(Exception):
    """A target's fields failed validation: every problem as (field, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))
        self.problems = problems

    def as_dict(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for f, m in self.problems:
            out[f].append(m)
        return dict(out)


_COLOUR_WORDS = {
    "green": CreditColour.GREEN,
    "绿": CreditColour.GREEN,
    "绿色": CreditColour.GREEN,
    "yellow": CreditColour.YELLOW,
    "黄": CreditColour.YELLOW,
    "黄色": CreditColour.YELLOW,
    "red": CreditColour.RED,
    "红": CreditColour.RED,
    "红色": CreditColour.RED,
}
_KIND_WORDS = {
    **{k.value: k for k in Target.Kind},
    **{str(k.label): k for k in Target.Kind},
    "企业": Target.Kind.ENTERPRISE,
    "个体工商户": Target.Kind.SHOP,
    "门店": Target.Kind.SHOP,
    "场所": Target.Kind.SITE,
}


def colour_parse(raw, field_name: str = "colour") -> str:
    word = str(raw or "").strip().lower()
    colour = _COLOUR_WORDS.get(word)
    if colour is None:
        raise FieldError(
            field_name, _("信用等级应为 green/yellow/red（绿/黄/红），收到 %(v)r。") % {"v": raw}
        )
    return colour


class _Townships:
    """Township-level regions by code and by name (loaded once per import or request)."""

    def __init__(self) -> None:
        self.by_key: dict[str, Region] = {}
        for region in Region.objects.filter(level__in=Region.TOWNSHIP_LEVELS).defer("geom"):
            self.by_key[region.code] = region
            self.by_key.setdefault(region.name, region)

    def get(self, raw: str) -> Region | None:
        return self.by_key.get(raw.strip())


def _target_values(
    raw: dict, *, existing: Target | None, townships: _Townships, partial: bool
) -> tuple[dict, list[tuple[str, str]]]:
    """Check one target's raw fields (strings as a caller or a spreadsheet sent them).

    Returns (clean values, problems). With `partial`, only the fields present are checked."""
    values: dict = {}
    problems: list[tuple[str, str]] = []

    def present(name: str) -> bool:
        return not partial or name in raw

    if present("name"):
        name = str(raw.get("name") or "").strip()
        if not name:
            problems.append(("name", _("名称不能为空。")))
        elif len(name) > 200:
            problems.append(("name", _("名称不能超过 %(n)d 个字。") % {"n": 200}))
        values["name"] = name
    if present("credit_code"):
        code = credit_code_normalise(raw.get("credit_code"))
        if code:
            problem = credit_code_problem(code)
            if problem:
                problems.append(("credit_code", problem))
            elif Target.objects.filter(credit_code=code).exclude(pk=getattr(existing, "pk", None)).exists():
                problems.append(("credit_code", _("统一社会信用代码 %(code)s 已登记。") % {"code": code}))
        values["credit_code"] = code
    if present("kind") and raw.get("kind") not in (None, ""):
        kind = _KIND_WORDS.get(str(raw["kind"]).strip())
        if kind is None:
            problems.append(("kind", _("类型应为 enterprise/shop/site（企业/个体工商户/场所）。")))
        values["kind"] = kind or Target.Kind.ENTERPRISE
    for name, limit in (("address", 200), ("industry", 100), ("no_disturbance_reason", 200)):
        if present(name):
            text = str(raw.get(name) or "").strip()
            if len(text) > limit:
                problems.append((name, _("不能超过 %(n)d 个字。") % {"n": limit}))
            values[name] = text
    if present("colour") and raw.get("colour") not in (None, ""):
        try:
            values["colour"] = colour_parse(raw["colour"])
        except FieldError as exc:
            problems.append((exc.field, exc.message))
    if present("no_disturbance") and raw.get("no_disturbance") not in (None, ""):
        values["no_disturbance"] = str(raw["no_disturbance"]).strip().lower() in (
            "1",
            "true",
            "yes",
            "是",
            "y",
        )
    if present("no_disturbance_until"):
        until = raw.get("no_disturbance_until")
        if until in (None, ""):
            values["no_disturbance_until"] = None
        elif isinstance(until, date):
            values["no_disturbance_until"] = until
        else:
            try:
                values["no_disturbance_until"] = date.fromisoformat(str(until).strip()[:10])
            except ValueError:
                problems.append(("no_disturbance_until", _("日期格式应为 YYYY-MM-DD。")))

    point_given = present("lon") or present("lat")
    if point_given:
        try:
            lon, lat, _crs = point_from_request(raw.get("lon"), raw.get("lat"), raw.get("crs"))
        except FieldError as exc:
            problems.append((exc.field, exc.message))
        else:
            values["point"] = Point(lon, lat, srid=settings.SRID)
    township_raw = str(raw.get("township") or "").strip() if present("township") else ""
    if township_raw:
        region = townships.get(township_raw)
        if region is None:
            problems.append(("township", _("未知乡镇（街道）：%(t)s。") % {"t": township_raw}))
        values["township"] = region
    elif "point" in values:
        routed = route(values["point"].x, values["point"].y).township
        if routed is None:
            problems.append(("township", _("该位置不在任何网格内，请填写乡镇（街道）。")))
        else:
            values["township"] = Region(id=routed["id"], code=routed["code"], name=routed["name"])
    return values, problems


def _colour_history(target: Target, before: str, after: str, reason: str, actor) -> CreditColourChange:
    return CreditColourChange.objects.create(
        target=target,
        from_colour=before,
        to_colour=after,
        reason=reason[:REASON_MAX],
        by=actor if getattr(actor, "is_authenticated", False) else None,
    )


@transaction.atomic
def target_create(*, raw: dict, actor=None) -> Target:
    """A new target from raw fields; its first colour is the first history row."""
    values, problems = _target_values(raw, existing=None, townships=_Townships(), partial=False)
    if problems:
        raise TargetInvalid(problems)
    target = Target.objects.create(**values)
    _colour_history(target, "", target.colour, _("登记"), actor)
    return target


@transaction.atomic
def target_update(*, target: Target, raw: dict, actor=None) -> Target:
    """Change the given fields. A colour change goes through target_colour_set (history)."""
    raw = dict(raw)
    colour_reason = str(raw.pop("colour_reason", "") or "")
    values, problems = _target_values(raw, existing=target, townships=_Townships(), partial=True)
    if problems:
        raise TargetInvalid(problems)
    colour = values.pop("colour", None)
    for name, value in values.items():
        setattr(target, name, value)
    target.save()
    if colour is not None and colour != target.colour:
        target_colour_set(target=target, colour=colour, reason=colour_reason or _("信息变更"), actor=actor)
    return target


@transaction.atomic
def target_colour_set(*, target: Target, colour: str, reason: str, actor=None) -> Target:
    """Change a target's credit colour and write the history row (from, to, reason, when, who)."""
    colour = colour_parse(colour)
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _("调整信用等级须填写理由。"))
    if len(reason) > REASON_MAX:
        raise FieldError("reason", _("理由不能超过 %(n)d 个字。") % {"n": REASON_MAX})
    target = Target.objects.select_for_update().get(pk=target.pk)
    if target.colour == colour:
        return target
    before = target.colour
    target.colour = colour
    target.save(update_fields=["colour", "updated_at"])
    _colour_history(target, before, colour, reason, actor)
    logger.info("target %s colour %s -> %s", target.pk, before, colour)
    return target


# --- Target import ---------------------------------------------------------------------------------

# Column headers accepted (Chinese as the registries print them, or the field names).
IMPORT_COLUMNS = {
    "name": ("name", "名称", "对象名称", "企业名称"),
    "credit_code": ("credit_code", "统一社会信用代码", "信用代码"),
    "kind": ("kind", "类型", "对象类型"),
    "address": ("address", "地址", "经营地址"),
    "lon": ("lon", "经度", "longitude"),
    "lat": ("lat", "纬度", "latitude"),
    "township": ("township", "乡镇", "乡镇（街道）", "乡镇街道"),
    "industry": ("industry", "行业"),
    "colour": ("colour", "color", "信用等级", "信用颜色"),
}


@dataclass(frozen=True)
class ImportProblem:
    row: int  # the spreadsheet's row number (the header is row 1)
    field: str
    message: str


@dataclass
class ImportResult:
    rows: int = 0
    valid: int = 0
    created: int = 0
    updated: int = 0
    committed: bool = False
    problems: list[ImportProblem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "valid": self.valid,
            "created": self.created,
            "updated": self.updated,
            "committed": self.committed,
            "problems": [{"row": p.row, "field": p.field, "message": p.message} for p in self.problems],
        }


def _read_rows(file, name: str) -> list[list]:
    """All rows (header first) of a CSV (UTF-8 with or without BOM, else GB18030) or .xlsx file."""
    data = file.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    if name.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise FieldError("file", _("无法读取 Excel 文件：%(e)s") % {"e": exc}) from None
        sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        book.close()
        return rows
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FieldError("file", _("无法识别文件编码（应为 UTF-8 或 GBK）。"))
    try:
        return [row for row in csv.reader(io.StringIO(text))]
    except csv.Error:  # e.g. a binary file that happens to decode: a 400, never a 500
        raise FieldError("file", _("文件不是有效的 CSV 或 .xlsx 表格。")) from None


def _header_map(header: list) -> dict[str, int]:
    wanted = {alias.lower(): key for key, aliases in IMPORT_COLUMNS.items() for alias in aliases}
    columns: dict[str, int] = {}
    for i, cell in enumerate(header):
        key = wanted.get(str(cell or "").strip().lower())
        if key and key not in columns:
            columns[key] = i
    missing = [k for k in ("name", "lon", "lat") if k not in columns]
    if missing:
        raise FieldError("file", _("缺少必需的列：%(cols)s。") % {"cols": ", ".join(missing)})
    return columns


def targets_import(
    *, file, name: str = "", commit: bool = False, skip_bad: bool = False, actor=None
) -> ImportResult:
    """Import targets from a CSV or .xlsx file; a row whose credit code is already registered
    updates that target.

    Every row is checked (name, credit code with its check character, duplicates within the file,
    coordinates in range / not swapped / in the service area, township known or resolved from the
    point, colour). Dry run unless `commit`; with problems nothing is written unless `skip_bad`,
    which writes the good rows only. Problems carry the spreadsheet row number."""
    rows = _read_rows(file, name or getattr(file, "name", ""))
    result = ImportResult()
    if not rows:
        raise FieldError("file", _("文件是空的。"))
    columns = _header_map(rows[0])
    body = rows[1:]
    if len(body) > settings.INSPECTION_IMPORT_MAX_ROWS:
        raise FieldError("file", _("一次最多导入 %(n)d 行。") % {"n": settings.INSPECTION_IMPORT_MAX_ROWS})
    townships = _Townships()
    existing = {
        t.credit_code: t for t in Target.objects.exclude(credit_code="").only("id", "credit_code", "colour")
    }
    seen_codes: dict[str, int] = {}
    good: list[tuple[int, dict, Target | None]] = []
    for offset, row in enumerate(body):
        number = offset + 2
        if not any(str(c or "").strip() for c in row):
            continue
        result.rows += 1
        raw = {key: (row[i] if i < len(row) else None) for key, i in columns.items()}
        raw = {k: ("" if v is None else v) for k, v in raw.items()}
        code = credit_code_normalise(raw.get("credit_code"))
        target = existing.get(code) if code else None
        values, problems = _target_values(
            {**raw, "credit_code": ""}, existing=target, townships=townships, partial=False
        )
        if code:
            problem = credit_code_problem(code)
            if problem:
                problems.append(("credit_code", problem))
            elif code in seen_codes:
                problems.append(
                    ("credit_code", _("统一社会信用代码与第 %(row)d 行重复。") % {"row": seen_codes[code]})
                )
            else:
                seen_codes[code] = number
        values["credit_code"] = code
        if problems:
            result.problems.extend(ImportProblem(number, f, m) for f, m in problems)
            continue
        good.append((number, values, target))
    result.valid = len(good)
    if not commit or (result.problems and not skip_bad):
        return result
    with transaction.atomic():
        for _number, values, target in good:
            colour = values.pop("colour", None)
            if target is None:
                created = Target.objects.create(**values, colour=colour or CreditColour.GREEN)
                _colour_history(created, "", created.colour, _("名录导入"), actor)
                result.created += 1
                continue
            target = Target.objects.select_for_update().get(pk=target.pk)
            for key, value in values.items():
                setattr(target, key, value)
            target.save()
            if colour and colour != target.colour:
                target_colour_set(target=target, colour=colour, reason=_("名录导入"), actor=actor)
            result.updated += 1
    result.committed = True
    logger.info(
        "targets import: %d created, %d updated, %d problems",
        result.created,
        result.updated,
        len(result.problems),
    )
    return result


# --- Roster: qualifications and conflicts ------------------------------------------------------------


@transaction.atomic
def officer_qualification_set(
    *,
    officer: Officer,
    domains: list[str],
    certificate_valid_from: date | None = None,
    certificate_valid_until: date | None = None,
    active_for_draws: bool = True,
) -> OfficerQualification:
    unknown = sorted(set(domains) - set(Domain.values))
    if unknown:
        raise FieldError("domains", _("未知领域：%(d)s。") % {"d": ", ".join(unknown)})
    if (
        certificate_valid_from
        and certificate_valid_until
        and certificate_valid_until < certificate_valid_from
    ):
        raise FieldError("certificate_valid_until", _("有效期至不能早于生效日期。"))
    qualification, _created = OfficerQualification.objects.update_or_create(
        officer=officer,
        defaults={
            "domains": sorted(set(domains)),
            "certificate_valid_from": certificate_valid_from,
            "certificate_valid_until": certificate_valid_until,
            "active_for_draws": active_for_draws,
        },
    )
    return qualification


def conflict_declare(*, officer: Officer, target: Target, reason: str, actor=None) -> Conflict:
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _("回避申报须填写理由。"))
    if len(reason) > 200:
        raise FieldError("reason", _("理由不能超过 %(n)d 个字。") % {"n": 200})
    conflict, created = Conflict.objects.get_or_create(
        officer=officer,
        target=target,
        defaults={
            "reason": reason,
            "declared_by": actor if getattr(actor, "is_authenticated", False) else None,
        },
    )
    if not created:
        raise FieldError("officer", _("%(name)s 对该对象已有回避申报。") % {"name": officer.name})
    return conflict


# --- Plans ---------------------------------------------------------------------------------------------


def plan_create(
    *,
    team: Team,
    title: str,
    year: int,
    month: int | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    note: str = "",
    actor=None,
) -> InspectionPlan:
    """A yearly (no month) or monthly plan; `starts_on`/`ends_on` narrow it to a date range."""
    title = (title or "").strip()
    if not title:
        raise FieldError("title", _("标题不能为空。"))
    first, last = period_of(year=year, month=month)
    starts_on = starts_on or first
    ends_on = ends_on or last
    if not (first <= starts_on <= last):
        raise FieldError("starts_on", _("开始日期应在计划期间内。"))
    if not (first <= ends_on <= last):
        raise FieldError("ends_on", _("结束日期应在计划期间内。"))
    period_check(start=starts_on, end=ends_on)
    return InspectionPlan.objects.create(
        team=team,
        title=title[:200],
        year=year,
        month=month,
        starts_on=starts_on,
        ends_on=ends_on,
        note=note,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def planned_check_add(
    *,
    plan: InspectionPlan,
    target: Target,
    matter: Matter | None = None,
    domain: str | None = None,
    due_from: date | None = None,
    due_until: date | None = None,
    mandatory: bool = False,
    mandatory_reason: str = "",
) -> PlannedCheck:
    """A check of `target` in `plan`; the window defaults to the plan's, the domain to the matter's
    (else the team's)."""
    if matter is not None and not matter.active:
        raise FieldError("matter", _("事项 %(code)s 已停用。") % {"code": matter.code})
    domain = domain or (matter.domain if matter else plan.team.domain)
    if domain not in Domain.values:
        raise FieldError("domain", _("未知领域：%(d)s。") % {"d": domain})
    due_from = due_from or plan.starts_on
    due_until = due_until or plan.ends_on
    if due_until < due_from:
        raise FieldError("due_until", _("检查窗口结束不能早于开始。"))
    if due_from < plan.starts_on or due_until > plan.ends_on:
        raise FieldError(
            "due_from",
            _("检查窗口应在计划期间（%(a)s 至 %(b)s）内。") % {"a": plan.starts_on, "b": plan.ends_on},
        )
    mandatory_reason = (mandatory_reason or "").strip()
    if mandatory and not mandatory_reason:
        raise FieldError("mandatory_reason", _("投诉或法定必查须写明理由。"))
    if not target.active:
        raise FieldError("target", _("该执法对象已停用。"))
    return PlannedCheck.objects.create(
        plan=plan,
        target=target,
        matter=matter,
        domain=domain,
        due_from=due_from,
        due_until=due_until,
        mandatory=mandatory,
        mandatory_reason=mandatory_reason[:200],
    )


# --- Joint visits (综合查一次) ---------------------------------------------------------------------------

METRES_PER_DEG_LAT = 110_574.0
METRES_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass
class ProposedVisit:
    key: str
    planned_date: date
    lead_team: Team
    targets: list[Target]
    checks: list[PlannedCheck]
    visits_before: int  # distinct (team, target) pairs among the checks

    @property
    def teams(self) -> list[Team]:
        seen = {c.plan.team_id: c.plan.team for c in self.checks}
        return [seen[k] for k in sorted(seen)]


@dataclass
class Proposal:
    start: date
    end: date
    radius_m: float
    visits: list[ProposedVisit]
    skipped: list[tuple[PlannedCheck, str]]

    @property
    def visits_before(self) -> int:
        return sum(v.visits_before for v in self.visits)

    @property
    def visits_after(self) -> int:
        return len(self.visits)

    @property
    def door_entries_after(self) -> int:
        return sum(len(v.targets) for v in self.visits)

    def figures(self) -> dict:
        return {
            "checks": sum(len(v.checks) for v in self.visits),
            "visits_before": self.visits_before,
            "visits_after": self.visits_after,
            "visits_avoided": self.visits_before - self.visits_after,
            "door_entries_after": self.door_entries_after,
            "door_entries_avoided": self.visits_before - self.door_entries_after,
            "skipped_no_disturbance": len(self.skipped),
        }


def _clusters(targets: list[Target], radius_m: float) -> list[list[Target]]:
    """Leader clustering, deterministic: targets in id order; each target not yet taken leads a
    group of every untaken target within `radius_m` of it (so members are within radius_m of the
    leader, 2·radius_m of each other). Distances on a local equirectangular projection (error
    well under 1% within a county)."""
    targets = sorted(targets, key=lambda t: t.pk)
    if radius_m <= 0 or len(targets) < 2:
        return [[t] for t in targets]
    lat0 = math.radians(sum(t.point.y for t in targets) / len(targets))
    xs = np.array([t.point.x * METRES_PER_DEG_LON_EQUATOR * math.cos(lat0) for t in targets])
    ys = np.array([t.point.y * METRES_PER_DEG_LAT for t in targets])
    points = shapely.points(xs, ys)
    tree = shapely.STRtree(points)
    taken = np.zeros(len(targets), dtype=bool)
    groups = []
    for i in range(len(targets)):
        if taken[i]:
            continue
        near = tree.query(points[i], predicate="dwithin", distance=radius_m)
        members = sorted(int(j) for j in near if not taken[j])
        taken[members] = True
        groups.append([targets[j] for j in members])
    return groups


def _lead_team(checks: list[PlannedCheck]) -> Team:
    """The team with most checks in the group; a tie goes to a (township) comprehensive team, then
    to the lowest team id."""
    counts = Counter(c.plan.team_id for c in checks)
    teams = {c.plan.team_id: c.plan.team for c in checks}
    return teams[min(counts, key=lambda tid: (-counts[tid], teams[tid].kind != Team.Kind.COMPREHENSIVE, tid))]


def _visit_key(checks: list[PlannedCheck]) -> str:
    ids = ",".join(str(c.pk) for c in sorted(checks, key=lambda c: c.pk))
    return "v-" + hashlib.sha256(ids.encode()).hexdigest()[:16]


def joint_visits_propose(*, start: date, end: date, radius_m: float | None = None) -> Proposal:
    """Merge the period's planned checks into visits ("进一次门、查多项事").

    Checks taken: not yet in a visit, window overlapping [start, end], target active. A check of a
    target on the no-disturbance list on `start` is skipped unless it is mandatory (complaint or
    legal duty). Targets are grouped by `_clusters`; each group is one visit, led by `_lead_team`,
    on the day all windows allow: the latest window start (not before `start`), moved back to the
    earliest window end when the windows do not meet.

    Figures: before, each team visits each of its targets on its own (distinct team-target pairs);
    after, one visit per group. `door_entries_*` count entries into premises (户次, the seeds'
    unit): a group of neighbouring targets is one visit but one entry per target."""
    start, end = period_check(start=start, end=end)
    radius_m = settings.INSPECTION_JOINT_RADIUS_METRES if radius_m is None else float(radius_m)
    if not (0 <= radius_m <= MAX_RADIUS_M) or math.isnan(radius_m):
        raise FieldError("radius_m", _("合并距离应在 0 到 %(n)d 米之间。") % {"n": int(MAX_RADIUS_M)})
    checks = list(
        PlannedCheck.objects.filter(
            visit__isnull=True, due_from__lte=end, due_until__gte=start, target__active=True
        )
        .select_related("plan__team", "target", "matter")
        .order_by("id")
    )
    skipped: list[tuple[PlannedCheck, str]] = []
    kept: list[PlannedCheck] = []
    for check in checks:
        if check.target.no_disturbance_on(start) and not check.mandatory:
            skipped.append((check, check.target.no_disturbance_reason or _("无事不扰名单")))
        else:
            kept.append(check)
    by_target: dict[int, list[PlannedCheck]] = defaultdict(list)
    for check in kept:
        by_target[check.target_id].append(check)
    targets = {c.target_id: c.target for c in kept}
    visits = []
    for group in _clusters(list(targets.values()), radius_m):
        group_checks = sorted((c for t in group for c in by_target[t.pk]), key=lambda c: c.pk)
        latest_from = max(max(c.due_from for c in group_checks), start)
        planned = min(latest_from, min(c.due_until for c in group_checks), end)
        visits.append(
            ProposedVisit(
                key=_visit_key(group_checks),
                planned_date=planned,
                lead_team=_lead_team(group_checks),
                targets=group,
                checks=group_checks,
                visits_before=len({(c.plan.team_id, c.target_id) for c in group_checks}),
            )
        )
    visits.sort(key=lambda v: (v.planned_date, v.targets[0].pk))
    return Proposal(start=start, end=end, radius_m=radius_m, visits=visits, skipped=skipped)


def joint_visits_commit(
    *, start: date, end: date, radius_m: float | None = None, keys: list[str] | None = None, actor=None
) -> tuple[Proposal, list[JointVisit]]:
    """Store the proposal (or the visits named by `keys`) as JointVisits.

    The checks are locked first and the proposal computed again under the lock, so two planners
    committing at once cannot put one check in two visits. A key no longer proposed (its checks
    changed or were taken meanwhile) is a field error and nothing is written."""
    with transaction.atomic():
        list(
            PlannedCheck.objects.select_for_update()
            .filter(visit__isnull=True, due_from__lte=end, due_until__gte=start)
            .values_list("id", flat=True)
        )
        proposal = joint_visits_propose(start=start, end=end, radius_m=radius_m)
        chosen = proposal.visits
        if keys is not None:
            by_key = {v.key: v for v in proposal.visits}
            missing = [k for k in keys if k not in by_key]
            if missing:
                raise FieldError(
                    "keys",
                    _("以下联合检查已不在建议中（计划已变化），请重新获取：%(k)s")
                    % {"k": ", ".join(missing)},
                )
            chosen = [by_key[k] for k in keys]
        created = []
        for proposed in chosen:
            visit = JointVisit.objects.create(
                period_start=proposal.start,
                period_end=proposal.end,
                lead_team=proposed.lead_team,
                planned_date=proposed.planned_date,
                radius_m=proposal.radius_m,
                visits_before=proposed.visits_before,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            VisitTarget.objects.bulk_create(
                VisitTarget(visit=visit, target=t, colour=t.colour) for t in proposed.targets
            )
            PlannedCheck.objects.filter(pk__in=[c.pk for c in proposed.checks]).update(visit=visit)
            created.append(visit)
    logger.info("joint visits committed: %d (%s..%s)", len(created), start, end)
    return proposal, created


@transaction.atomic
def joint_visit_cancel(*, visit: JointVisit) -> JointVisit:
    """Cancel a visit with no case yet; its checks return to the plan (proposed again)."""
    visit = JointVisit.objects.select_for_update().get(pk=visit.pk)
    if visit.report_id is not None:
        raise FieldError("status", _("已生成检查案件的联合检查不能取消。"))
    visit.status = JointVisit.Status.CANCELLED
    visit.save(update_fields=["status"])
    PlannedCheck.objects.filter(visit=visit).update(visit=None)
    return visit


def _case_description(visit: JointVisit, targets: list[Target], checks: list[PlannedCheck]) -> str:
    lines = [
        _("综合查一次（联合检查 #%(id)s），牵头：%(lead)s，计划日期 %(day)s。")
        % {"id": visit.pk, "lead": visit.lead_team.name, "day": visit.planned_date.isoformat()},
        _("检查对象：%(t)s。") % {"t": "、".join(t.name for t in targets)},
    ]
    for check in checks:
        what = check.matter.name if check.matter else Domain(check.domain).label
        lines.append(f"· {check.plan.team.name}：{check.target.name} — {what}")
    return "\n".join(lines)[:2000]


def inspection_case_open(*, visit: JointVisit, actor) -> Report:
    """Open the visit's case in the closed loop: a Report (source `inspection`, at the first
    target) made by the intake service, assigned to the lead team, registered (立案) by `actor` — who
    must be a dispatcher — and linked from the visit. Opening again returns the same case. The
    command centre lists and filters it by that source like any other case."""
    with transaction.atomic():
        visit = JointVisit.objects.select_for_update().select_related("lead_team").get(pk=visit.pk)
        if visit.report_id is not None:
            return visit.report
        if visit.status == JointVisit.Status.CANCELLED:
            raise FieldError("status", _("联合检查已取消。"))
        targets = sorted(visit.targets.all(), key=lambda t: t.pk)
        checks = list(visit.member_checks.select_related("plan__team", "target", "matter").order_by("id"))
        lead_checks = [
            c for c in checks if c.plan.team_id == visit.lead_team_id and c.matter and c.matter.active
        ]
        first = targets[0]
        report, _created = report_submit(
            data=ReportInput(
                source=Report.Source.INSPECTION,
                lon=first.point.x,
                lat=first.point.y,
                matter_code=lead_checks[0].matter.code if lead_checks else None,
                description=_case_description(visit, targets, checks),
                address=first.address,
            ),
            reporter=actor,
            idempotency_key=f"inspection-visit:{visit.pk}",
        )
        if report.team_id != visit.lead_team_id:
            report = report_assign(
                report=report, team=visit.lead_team, actor=actor, note=_("综合查一次：由牵头队伍办理。")
            )
        if report.status == Report.Status.NEW:
            report = case_transition(report=report, action="register", actor=actor)
        visit.report = report
        visit.status = JointVisit.Status.CASE_OPENED
        visit.save(update_fields=["report", "status"])
    logger.info("joint visit %s: case %s opened", visit.pk, report.number)
    return report


def draw_result_case_open(*, result: DrawResult, actor) -> Report:
    """Open a drawn check as a case of the closed loop, as a joint visit's is opened: a Report
    (source `inspection`, at the target) by the intake service, held by the team of the first
    inspector drawn for it (the inspectors go together: 双随机 sends them, not a routed team),
    registered (立案) by `actor` — a dispatcher — and linked from the result. Opening again
    returns the same case."""
    with transaction.atomic():
        result = (
            DrawResult.objects.select_for_update(of=("self",))
            .select_related("draw__matter", "target")
            .get(pk=result.pk)
        )
        if result.report_id is not None:
            return result.report
        draw, target = result.draw, result.target
        inspectors = {
            o.pk: o for o in Officer.objects.filter(pk__in=result.inspectors).select_related("team")
        }
        first = inspectors.get(result.inspectors[0]) if result.inspectors else None
        if first is None:
            raise FieldError("inspectors", _("该对象没有抽中的执法人员。"))
        names = "、".join(inspectors[o].name for o in result.inspectors if o in inspectors)
        description = "\n".join(
            [
                _("双随机抽查 #%(id)s（%(day)s，%(domain)s），第 %(n)d 户：%(target)s。")
                % {
                    "id": draw.pk,
                    "day": draw.draw_date.isoformat(),
                    "domain": Domain(draw.domain).label,
                    "n": result.position,
                    "target": target.name,
                },
                _("执法人员：%(names)s。") % {"names": names},
            ]
        )[:2000]
        report, _created = report_submit(
            data=ReportInput(
                source=Report.Source.INSPECTION,
                lon=target.point.x,
                lat=target.point.y,
                matter_code=draw.matter.code if draw.matter and draw.matter.active else None,
                description=description,
                address=target.address,
            ),
            reporter=actor,
            idempotency_key=f"inspection-draw:{draw.pk}:{result.position}",
        )
        if report.team_id != first.team_id:
            report = report_assign(
                report=report,
                team=first.team,
                actor=actor,
                note=_("双随机抽查：由抽中的执法人员所在队伍办理。"),
            )
        if report.status == Report.Status.NEW:
            report = case_transition(report=report, action="register", actor=actor)
        result.report = report
        result.save(update_fields=["report"])
    logger.info("draw %s #%s: case %s opened", draw.pk, result.position, report.number)
    return report


def draw_cases_open(*, draw: Draw, actor) -> list[Report]:
    """Open the case of every drawn check of `draw` that has none yet (see draw_result_case_open)."""
    return [
        draw_result_case_open(result=result, actor=actor)
        for result in draw.results.filter(report__isnull=True).order_by("position")
    ]


# --- Double-random draws (双随机一公开) -------------------------------------------------------------------

DRAW_FILTER_KEYS = ("townships", "industries", "colours", "kinds")


def _draw_filters(raw: dict | None) -> dict:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise FieldError("filters", _("抽取范围应为对象。"))
    unknown = sorted(set(raw) - set(DRAW_FILTER_KEYS))
    if unknown:
        raise FieldError("filters", _("未知的抽取条件：%(k)s。") % {"k": ", ".join(unknown)})
    clean: dict[str, list[str]] = {}
    for key in DRAW_FILTER_KEYS:
        values = raw.get(key) or []
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise FieldError("filters", _("%(k)s 应为字符串列表。") % {"k": key})
        values = sorted({v.strip() for v in values if v.strip()})
        if values:
            clean[key] = values
    if "townships" in clean:
        known = set(
            Region.objects.filter(level__in=Region.TOWNSHIP_LEVELS, code__in=clean["townships"]).values_list(
                "code", flat=True
            )
        )
        missing = [c for c in clean["townships"] if c not in known]
        if missing:
            raise FieldError("filters", _("未知乡镇（街道）代码：%(c)s。") % {"c": ", ".join(missing)})
    if "colours" in clean:
        bad = [c for c in clean["colours"] if c not in CreditColour.values]
        if bad:
            raise FieldError("filters", _("未知信用等级：%(c)s。") % {"c": ", ".join(bad)})
    if "kinds" in clean:
        bad = [c for c in clean["kinds"] if c not in Target.Kind.values]
        if bad:
            raise FieldError("filters", _("未知对象类型：%(c)s。") % {"c": ", ".join(bad)})
    return clean


def _draw_rates(raw: dict | None) -> dict[str, float]:
    rates = dict(settings.INSPECTION_DRAW_RATES)
    if raw is None:
        return rates
    if not isinstance(raw, dict):
        raise FieldError("rates", _('抽查比例应为对象，如 {"green": 0.05}。'))
    for colour, value in raw.items():
        if colour not in CreditColour.values:
            raise FieldError("rates", _("未知信用等级：%(c)s。") % {"c": colour})
        try:
            rate = float(value)
        except (TypeError, ValueError):
            raise FieldError("rates", _("%(c)s 的抽查比例应为 0 到 1 之间的数。") % {"c": colour}) from None
        if not (0.0 <= rate <= 1.0):
            raise FieldError("rates", _("%(c)s 的抽查比例应为 0 到 1 之间的数。") % {"c": colour})
        rates[colour] = rate
    return rates


def _covers(domains: list[str], domain: str, matter: Matter | None) -> bool:
    """An officer may inspect a matter of their domains; a matter delegated to townships may also
    be inspected by a comprehensive-domain officer (赋权事项)."""
    if domain in domains:
        return True
    return matter is not None and matter.responsible_domain in domains


def draw_snapshot(
    *, domain: str, matter: Matter | None, filters: dict, rates: dict, per_target: int, on: date
) -> dict:
    """What a draw draws from, as plain data sorted by id: the pool of targets with their colours,
    the officers eligible on the day, the declared conflicts between them."""
    targets = Target.objects.filter(active=True).exclude(
        Q(no_disturbance=True) & (Q(no_disturbance_until__isnull=True) | Q(no_disturbance_until__gte=on))
    )
    if "townships" in filters:
        targets = targets.filter(township__code__in=filters["townships"])
    if "industries" in filters:
        targets = targets.filter(industry__in=filters["industries"])
    if "colours" in filters:
        targets = targets.filter(colour__in=filters["colours"])
    if "kinds" in filters:
        targets = targets.filter(kind__in=filters["kinds"])
    pool = [[pk, colour] for pk, colour in targets.order_by("id").values_list("id", "colour")]
    qualifications = (
        OfficerQualification.objects.filter(
            active_for_draws=True,
            officer__status=Officer.Status.STAFF,
        )
        .exclude(officer__certificate_no="")
        .filter(Q(certificate_valid_from__isnull=True) | Q(certificate_valid_from__lte=on))
        .filter(Q(certificate_valid_until__isnull=True) | Q(certificate_valid_until__gte=on))
        .order_by("officer_id")
        .values_list("officer_id", "domains")
    )
    officers = [oid for oid, domains in qualifications if _covers(domains, domain, matter)]
    target_ids = {t for t, _c in pool}
    officer_ids = set(officers)
    conflicts = sorted(
        [o, t]
        for o, t in Conflict.objects.filter(officer_id__in=officer_ids, target_id__in=target_ids).values_list(
            "officer_id", "target_id"
        )
    )
    return {
        "version": 1,
        "on": on.isoformat(),
        "targets": pool,
        "officers": officers,
        "conflicts": conflicts,
        "rates": {c: rates[c] for c in sorted(rates)},
        "inspectors_per_target": per_target,
    }


def snapshot_hash(snapshot: dict) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class DrawShortage(FieldError):
    """Too few eligible inspectors for a drawn target."""


def draw_select(*, snapshot: dict, seed: int) -> tuple[list[tuple[int, str, list[int]]], list[list[int]]]:
    """The draw itself, a pure function of (snapshot, seed): [(target id, colour, [officer ids])]
    in draw order, and the [officer, target] conflicts that removed a candidate.

    One `random.Random(seed)`, used in a fixed order. Each colour is a stratum (red, yellow, green):
    with n targets at rate r it takes ⌊n·r⌋ targets, plus one more with probability frac(n·r)
    (randomised rounding), by `rng.sample` over the ids in ascending order — so every target of the
    colour is drawn with probability exactly r and the count is within one of n·r. Then, for each
    drawn target in that order, `inspectors_per_target` officers by `rng.sample` over the eligible
    officers (ascending ids) minus those with a declared conflict with the target."""
    rng = random.Random(seed)
    per_target = int(snapshot["inspectors_per_target"])
    by_colour: dict[str, list[int]] = defaultdict(list)
    for target_id, colour in snapshot["targets"]:
        by_colour[colour].append(int(target_id))
    chosen: list[tuple[int, str]] = []
    for colour in COLOUR_ORDER:
        stratum = sorted(by_colour.get(colour, []))
        expected = round(len(stratum) * float(snapshot["rates"].get(colour, 0.0)), 9)
        k = math.floor(expected)
        if rng.random() < expected - k:
            k += 1
        chosen.extend((t, str(colour)) for t in sorted(rng.sample(stratum, min(k, len(stratum)))))
    officers = sorted(int(o) for o in snapshot["officers"])
    conflicted: dict[int, set[int]] = defaultdict(set)
    for officer_id, target_id in snapshot["conflicts"]:
        conflicted[int(target_id)].add(int(officer_id))
    results = []
    excluded = []
    for target_id, colour in chosen:
        candidates = [o for o in officers if o not in conflicted[target_id]]
        excluded.extend([o, target_id] for o in sorted(conflicted[target_id]) if o in officers)
        if len(candidates) < per_target:
            raise DrawShortage(
                "inspectors_per_target",
                _("符合条件的执法人员不足：对象 #%(t)d 只有 %(n)d 名可抽取人员，需要 %(k)d 名。")
                % {"t": target_id, "n": len(candidates), "k": per_target},
            )
        results.append((target_id, colour, rng.sample(candidates, per_target)))
    return results, excluded


def draw_run(
    *,
    domain: str,
    matter: Matter | None = None,
    filters: dict | None = None,
    rates: dict | None = None,
    inspectors_per_target: int | None = None,
    seed: int | None = None,
    title: str = "",
    draw_date: date | None = None,
    actor=None,
) -> Draw:
    """Run and store a draw. Without a seed one is generated (63 random bits) and stored."""
    if matter is not None:
        domain = domain or matter.domain
    if domain not in Domain.values:
        raise FieldError("domain", _("未知领域：%(d)s。") % {"d": domain})
    per_target = (
        settings.INSPECTION_INSPECTORS_PER_TARGET if inspectors_per_target is None else inspectors_per_target
    )
    if not isinstance(per_target, int) or not 2 <= per_target <= 10:
        raise FieldError(
            "inspectors_per_target", _("每户执法人员数应在 2 到 10 之间（检查须两名以上执法人员）。")
        )
    if seed is None:
        seed = secrets.randbits(63)
    elif not isinstance(seed, int) or not 0 <= seed <= DRAW_SEED_MAX:
        raise FieldError("seed", _("随机种子应为 0 到 2^63−1 之间的整数。"))
    clean_filters = _draw_filters(filters)
    clean_rates = _draw_rates(rates)
    on = draw_date or timezone.localdate()
    snapshot = draw_snapshot(
        domain=domain, matter=matter, filters=clean_filters, rates=clean_rates, per_target=per_target, on=on
    )
    results, excluded = draw_select(snapshot=snapshot, seed=seed)
    with transaction.atomic():
        draw = Draw.objects.create(
            title=(title or "").strip()[:200],
            domain=domain,
            matter=matter,
            filters=clean_filters,
            rates=snapshot["rates"],
            inspectors_per_target=per_target,
            seed=seed,
            draw_date=on,
            snapshot=snapshot,
            pool_hash=snapshot_hash(snapshot),
            conflicts_excluded=excluded,
            run_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        DrawResult.objects.bulk_create(
            DrawResult(draw=draw, position=i, target_id=t, colour=c, inspectors=inspectors)
            for i, (t, c, inspectors) in enumerate(results, start=1)
        )
    logger.info("draw %s: seed %s, %d targets of %d", draw.pk, seed, len(results), len(snapshot["targets"]))
    return draw


def draw_replay(*, draw: Draw) -> dict:
    """Re-run a draw from its stored seed and snapshot and compare with the stored result.

    `equal` holds when the snapshot still matches its hash and the re-run gives the same targets
    and inspectors in the same order. `pool_unchanged` says whether the pool computed today from
    the same filters and date is still the snapshot (targets or roster may have changed since)."""
    intact = snapshot_hash(draw.snapshot) == draw.pool_hash
    try:
        replayed, _excluded = draw_select(snapshot=draw.snapshot, seed=draw.seed)
    except DrawShortage:
        replayed = []
    stored = [(r.target_id, r.colour, list(r.inspectors)) for r in draw.results.order_by("position")]
    current = draw_snapshot(
        domain=draw.domain,
        matter=draw.matter,
        filters=draw.filters,
        rates=draw.rates,
        per_target=draw.inspectors_per_target,
        on=draw.draw_date,
    )
    return {
        "draw": draw.pk,
        "seed": draw.seed,
        "pool_hash": draw.pool_hash,
        "snapshot_intact": intact,
        "equal": intact and replayed == stored,
        "replayed": [{"target": t, "colour": c, "inspectors": i} for t, c, i in replayed],
        "pool_unchanged": snapshot_hash(current) == draw.pool_hash,
    }


def draw_publish(*, draw: Draw) -> Draw:
    """Make the draw and its results public (双随机一公开); publishing again changes nothing."""
    if not draw.published:
        draw.published = True
        draw.published_at = timezone.now()
        draw.save(update_fields=["published", "published_at"])
    return draw


def draw_result_record(*, result: DrawResult, outcome: str, note: str = "") -> DrawResult:
    if outcome not in DrawResult.Outcome.values or outcome == DrawResult.Outcome.PENDING:
        raise FieldError("outcome", _("检查结果应为 compliant、rectify、case 或 not_found。"))
    note = (note or "").strip()
    if len(note) > 500:
        raise FieldError("note", _("说明不能超过 %(n)d 个字。") % {"n": 500})
    result.outcome = outcome
    result.outcome_note = note
    result.outcome_at = timezone.now()
    result.save(update_fields=["outcome", "outcome_note", "outcome_at"])
    return result
