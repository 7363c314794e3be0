"""The closed loop: every step of a case goes through `case_transition`, from every door (REST API,
command centre, officer's phone, admin, the timers).

One step, in one transaction:
    lock the case ─► check the action is allowed here and to this person (gridops/lifecycle.py)
    ─► validate its inputs (note, location, photos, unit, team, days …) ─► change the case
    ─► append a hash-chained CaseEvent (gridops/record.py) ─► outbox `case.updated`
A refused step raises FieldError (→ 400, field and message) or CasePermissionDenied (→ 403) and
writes nothing. Time limits are counted on the working calendar (workcalendar.calendar); the timers
that warn and escalate are `case_timers_sweep` (Celery beat, every minute).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import DurationField, ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from geodata.coords import point_from_request
from geodata.errors import FieldError
from geodata.models import Matter, Officer, Team
from gridops import lifecycle
from gridops.lifecycle import DISPATCHER, OFFICER, REPORTER, SUPERVISOR, TRANSITIONS, Referral
from gridops.models import Alert, CaseEvent, Report, Unit
from gridops.realtime import events
from gridops.realtime.outbox import outbox_emit
from gridops.record import event_hash, report_genesis
from gridops.services.photos import photos_discard, photos_prepare, photos_store
from workcalendar.calendar import add_working_days, add_working_hours

logger = logging.getLogger("gridops.cases")

S = Report.Status
NOTE_MAX = 1000
ORG_NAME_MAX = 100
SYSTEM = "system"


class CasePermissionDenied(Exception):
    """The person may not take this step on this case (→ 403)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Who is who -----------------------------------------------------------------------------------


def _groups(user) -> set[str]:
    cached = getattr(user, "_gridops_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
        user._gridops_groups = cached
    return cached


def _officer(user) -> Officer | None:
    if not hasattr(user, "_gridops_officer"):
        user._gridops_officer = (
            Officer.objects.filter(user=user).select_related("team").first()
            if user.is_authenticated
            else None
        )
    return user._gridops_officer


def actor_roles(*, user, report: Report) -> set[str]:
    """The lifecycle roles this user holds for this case (see gridops/lifecycle.py)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    groups = _groups(user)
    roles = set()
    if user.is_superuser or groups & {"dispatcher", "admin"}:
        roles.add(DISPATCHER)
    if user.is_superuser or "supervisor" in groups:
        roles.add(SUPERVISOR)
    officer = _officer(user)
    if officer is not None and report.team_id is not None and officer.team_id == report.team_id:
        roles.add(OFFICER)
    if report.reporter_id is not None and report.reporter_id == user.pk:
        roles.add(REPORTER)
    return roles


def _refusal(transition, report: Report, user, roles: set[str]) -> str | None:
    """Why this user may not take this step now, or None."""
    reason = _refused(transition, report, user, roles)
    return None if reason is None else reason()


def _refused(transition, report: Report, user, roles: set[str]) -> Callable[[], str] | None:
    """None when this user may take this step now; otherwise what builds the reason in words.

    The words are built only when asked for: the detail of every case (and the 201 answer of every
    report) tests all the steps, and building each refusal (gettext, the status's display name)
    was ~20% of a report's CPU in a worker (py-spy --gil, 8 clients)."""
    if report.status not in transition.sources:
        return lambda: (
            _("案件状态为“%(status)s”，不能%(action)s。")
            % {
                "status": report.get_status_display(),
                "action": transition.label,
            }
        )
    if not roles.intersection(transition.roles):
        return lambda: _("您无权对该案件执行“%(action)s”。") % {"action": transition.label}
    action = transition.action
    if action in ("verify_pass", "verify_fail") and report.handler_id == user.pk:
        return lambda: _("核查须由处置人以外的人员进行。")
    if action in ("accept", "start", "handle") and OFFICER not in roles:
        return lambda: _("只有责任队伍的执法人员可以%(action)s。") % {"action": transition.label}
    if action in ("start", "handle") and report.handler_id not in (None, user.pk):
        return lambda: _("该案件由他人承办。")
    if action == "escalate" and (report.team is None or report.team.kind != Team.Kind.COMPREHENSIVE):
        return lambda: _("只有乡镇综合执法队可以提请县级部门。")
    if action == "request_extension" and report.extension_request:
        return lambda: _("已有一条延期申请待审批。")
    if action in ("approve_extension", "refuse_extension"):
        if not report.extension_request:
            return lambda: _("没有待审批的延期申请。")
        if report.extension_request.get("by") == user.pk:
            return lambda: _("延期申请须由申请人以外的人员审批。")
    return None


def case_allowed_actions(*, report: Report, user) -> list[dict]:
    """The steps this user may take on this case now, with what each needs (for the detail page)."""
    roles = actor_roles(user=user, report=report)
    if not roles:
        return []
    allowed = []
    for transition in TRANSITIONS.values():
        if _refused(transition, report, user, roles) is None:
            allowed.append(
                {
                    "action": transition.action,
                    "label": str(transition.label),
                    "needs_note": transition.needs_note,
                    "needs_location": transition.needs_location,
                    "needs_photos": transition.action == "handle" and settings.CASE_HANDLED_MIN_PHOTOS > 0,
                }
            )
    return allowed


# --- Time limits ----------------------------------------------------------------------------------


def handling_due_at(*, matter: Matter | None, start: datetime) -> datetime:
    """The matter's catalogue limit from `start`, on the working calendar."""
    if matter is not None and matter.time_limit_hours:
        return add_working_hours(start=start, hours=matter.time_limit_hours)
    days = matter.time_limit_days if matter is not None else settings.REPORT_DEFAULT_HANDLING_DAYS
    return add_working_days(start=start, days=days)


# --- The step -------------------------------------------------------------------------------------


@dataclass
class Step:
    """What a door hands `case_transition` besides the action (raw values, validated here)."""

    note: str = ""
    lon: object = None
    lat: object = None
    crs: str | None = None
    photos: tuple = ()
    unit: object = None  # dispatch: unit id or code
    team: str | None = None  # escalate / refer to a department: team code
    to_kind: str | None = None  # refer: lifecycle.Referral kind
    to_name: str = ""  # refer outside the platform: the receiving organisation
    days: object = None  # request_extension: working days


def _note(transition, step: Step) -> str:
    note = (step.note or "").strip()
    if len(note) > NOTE_MAX:
        raise FieldError("note", _("说明不能超过 %(n)d 个字。") % {"n": NOTE_MAX})
    if transition.needs_note and not note:
        raise FieldError("note", _("“%(action)s”须填写说明。") % {"action": transition.label})
    return note


def _point(transition, step: Step) -> Point | None:
    given = step.lon not in (None, "") or step.lat not in (None, "")
    if not given:
        if transition.needs_location:
            raise FieldError("lon", _("“%(action)s”须记录核查人所在位置。") % {"action": transition.label})
        return None
    lon, lat, _crs = point_from_request(step.lon, step.lat, step.crs)
    return Point(lon, lat, srid=4326)


def actor_display_name(actor) -> str:
    """How a step names who took it: the full name, else the username; the system for None."""
    if actor is None:
        return _("系统")
    full = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    return full or getattr(actor, "username", "") or str(actor)


def case_locked(report: Report) -> Report:
    """The case's row, locked for this transaction, with what the event payload needs."""
    return (
        Report.objects.select_for_update(of=("self",))
        .select_related("matter", "team", "township", "cell")
        .get(pk=report.pk)
    )


def record_append(
    *,
    report: Report,
    action: str,
    from_status: str,
    actor,
    at: datetime,
    point: Point | None = None,
    note: str = "",
    data: dict | None = None,
) -> CaseEvent:
    """Append one step to the case's record (inside the caller's transaction, the case locked).

    The first step links to the report's intake facts (`report_genesis`), each later one to the
    step before; the report keeps the newest link."""
    seq = report.record_seq + 1
    event = CaseEvent(
        report=report,
        seq=seq,
        action=action,
        from_status=from_status,
        to_status=report.status,
        actor_id=getattr(actor, "pk", None),
        actor_name=actor_display_name(actor),
        at=at,
        point=point,
        note=note,
        data=data or {},
        prev_hash=report.record_hash or report_genesis(report),
    )
    event.hash = event_hash(event)
    event.save()
    report.record_seq = seq
    report.record_hash = event.hash
    return event


def _unit(report: Report, raw) -> Unit | None:
    if raw in (None, ""):
        return None
    lookup = Q(code=str(raw))
    if str(raw).isdigit():
        lookup |= Q(pk=int(raw))
    unit = Unit.objects.filter(lookup).select_related("team").first()
    if unit is None:
        raise FieldError("unit", _("未知巡查单元：%(u)s。") % {"u": raw})
    if unit.team_id != report.team_id:
        raise FieldError(
            "unit", _("%(unit)s 不属于责任队伍 %(team)s。") % {"unit": unit.name, "team": report.team.name}
        )
    if not unit.active:
        raise FieldError("unit", _("%(unit)s 已停用。") % {"unit": unit.name})
    return unit


def _professional_team(report: Report, code: str | None, field: str = "team") -> Team:
    if code:
        team = Team.objects.filter(code=code).first()
        if team is None:
            raise FieldError(field, _("未知队伍：%(code)s。") % {"code": code})
    else:
        domain = report.matter.domain if report.matter_id else None
        team = Team.objects.filter(kind=Team.Kind.PROFESSIONAL, domain=domain).order_by("code").first()
        if team is None:
            raise FieldError(field, _("该事项没有对应的县级专业队伍，请选择队伍。"))
    if team.kind != Team.Kind.PROFESSIONAL:
        raise FieldError(field, _("%(team)s 不是县级专业执法队伍。") % {"team": team.name})
    if team.pk == report.team_id:
        raise FieldError(field, _("案件已由 %(team)s 负责。") % {"team": team.name})
    return team


def _days(raw) -> int:
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise FieldError("days", _("延期天数须为整数（工作日）。")) from None
    if not 1 <= days <= settings.CASE_EXTENSION_MAX_DAYS:
        raise FieldError(
            "days", _("延期天数应在 1 到 %(n)d 个工作日之间。") % {"n": settings.CASE_EXTENSION_MAX_DAYS}
        )
    return days


def _hand_over(report: Report, team: Team, *, code: str, text: str, actor, at: datetime) -> str | None:
    """Move the case to another team, keeping why (the routing reasons grow, never shrink)."""
    old = report.team
    report.routing.setdefault("reasons", []).append(
        {
            "code": code,
            "text": text,
            "actor": getattr(actor, "username", None),
            "at": timezone.localtime(at).isoformat(),
            "from_team": old.code if old else None,
            "to_team": team.code,
        }
    )
    report.team = team
    report.routed = True
    report.triage_queue = ""
    report.handler = None
    report.assigned_unit = None
    return old.code if old else None


def _apply(transition, report: Report, step: Step, actor, now: datetime, note: str, before: str) -> dict:
    """Change the case for this step; returns the record's data for it."""
    action = transition.action
    data: dict = {}
    if transition.target is not None:
        report.status = transition.target
    who = actor_display_name(actor)
    when = timezone.localtime(now).strftime("%Y-%m-%d %H:%M")

    if action == "register":
        report.registered_at = now
        report.due_at = handling_due_at(matter=report.matter, start=now)
        data["due_at"] = report.due_at.isoformat()
    elif action == "not_register":
        report.due_at = None
    elif action == "dispatch":
        unit = _unit(report, step.unit)
        report.assigned_unit = unit
        report.dispatched_at = now
        if unit is not None:
            data["unit"] = {"id": unit.pk, "code": unit.code, "name": unit.name}
    elif action == "accept":
        report.handler = actor
    elif action == "start":
        report.arrived_at = report.arrived_at or now
    elif action == "handle":
        report.handled_at = now
    elif action == "verify_fail":
        report.rework_count += 1
        report.handled_at = None
    elif action == "close":
        report.closed_at = now
    elif action == "escalate":
        team = _professional_team(report, step.team)
        report.escalated_from = report.team
        text = _("%(who)s 于 %(when)s 提请 %(team)s 处理（乡呼县应）。理由：%(note)s") % {
            "who": who,
            "when": when,
            "team": team.name,
            "note": note,
        }
        data["from_team"] = _hand_over(report, team, code="escalated", text=text, actor=actor, at=now)
        data["to_team"] = team.code
        report.escalation_due_at = now + timedelta(minutes=settings.CASE_ESCALATION_REPORT_IN_MINUTES)
        data["report_in_due_at"] = report.escalation_due_at.isoformat()
    elif action == "report_in":
        report.escalation_due_at = None
        report.registered_at = now
        report.due_at = handling_due_at(matter=report.matter, start=now)
        data["due_at"] = report.due_at.isoformat()
    elif action == "refer":
        data.update(_refer(report, step, actor, now, who, when, note))
    elif action == "suspend":
        report.suspended_from = before
        report.suspended_at = now
    elif action == "resume":
        report.status = report.suspended_from or S.REGISTERED
        if report.due_at and report.suspended_at:
            # The clock stood still while the case was suspended: the deadline moves by as much.
            report.due_at += now - report.suspended_at
            data["due_at"] = report.due_at.isoformat()
        report.suspended_from = ""
        report.suspended_at = None
    elif action == "request_extension":
        days = _days(step.days)
        report.extension_request = {
            "days": days,
            "by": getattr(actor, "pk", None),
            "at": now.isoformat(),
            "reason": note,
        }
        data["days"] = days
    elif action == "approve_extension":
        days = report.extension_request["days"]
        report.due_at = add_working_days(start=report.due_at or now, days=days)
        report.extension_count += 1
        report.extension_request = {}
        report.warned_at = report.overdue_at = None
        data.update(days=days, due_at=report.due_at.isoformat())
    elif action == "refuse_extension":
        data["days"] = report.extension_request["days"]
        report.extension_request = {}
    return data


def _refer(report: Report, step: Step, actor, now, who: str, when: str, note: str) -> dict:
    kind = (step.to_kind or "").strip()
    if kind not in Referral.CHOICES:
        raise FieldError(
            "to_kind",
            _("移送对象只能是：%(kinds)s。") % {"kinds": "、".join(map(str, Referral.CHOICES.values()))},
        )
    label = str(Referral.CHOICES[kind])
    if kind == Referral.DEPARTMENT:
        team = _professional_team(report, step.team)
        text = _("%(who)s 于 %(when)s 将案件移送 %(team)s（%(label)s）。理由：%(note)s") % {
            "who": who,
            "when": when,
            "team": team.name,
            "label": label,
            "note": note,
        }
        from_team = _hand_over(report, team, code="referred", text=text, actor=actor, at=now)
        report.status = S.REGISTERED
        report.registered_at = now
        report.due_at = handling_due_at(matter=report.matter, start=now)
        report.referral = {"kind": kind, "team": team.code, "to": team.name, "at": now.isoformat()}
        return {
            "to_kind": kind,
            "from_team": from_team,
            "to_team": team.code,
            "due_at": report.due_at.isoformat(),
        }
    name = (step.to_name or "").strip()
    if not name:
        raise FieldError("to_name", _("请填写接收移送的机关名称。"))
    if len(name) > ORG_NAME_MAX:
        raise FieldError("to_name", _("机关名称不能超过 %(n)d 个字。") % {"n": ORG_NAME_MAX})
    report.status = S.REFERRED
    report.due_at = None
    report.closed_at = now
    report.referral = {"kind": kind, "to": name, "at": now.isoformat()}
    return {"to_kind": kind, "to_name": name}


def _repeated(transition, report: Report, actor) -> bool:
    """Is this the same person taking the step they just took (the case already where it leads)?"""
    if transition.target is None or report.status != transition.target or not report.record_seq:
        return False
    last = CaseEvent.objects.filter(report=report).order_by("-seq").values("action", "actor_id").first()
    return (
        last is not None
        and last["action"] == transition.action
        and last["actor_id"] == getattr(actor, "pk", None)
    )


def case_transition(*, report: Report, action: str, actor, step: Step | None = None) -> Report:
    """Take one step of the closed loop; see the module docstring.

    Taking the step one has just taken again (a double click, a phone retrying after a lost
    answer) changes nothing and answers the case as it is."""
    step = step or Step()
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise FieldError("action", _("未知操作：%(a)s。") % {"a": action})
    note = _note(transition, step)
    point = _point(transition, step)
    prepared = photos_prepare(files=step.photos) if step.photos else []
    stored: list = []
    try:
        with transaction.atomic():
            report = case_locked(report)
            if _repeated(transition, report, actor):
                photos_discard(stored)
                return report  # a double click or a retried request: the step is already done
            roles = actor_roles(user=actor, report=report)
            refusal = _refusal(transition, report, actor, roles)
            if refusal is not None:
                if report.status not in transition.sources:
                    raise FieldError("status", refusal)
                raise CasePermissionDenied(refusal)
            if action == "handle" and len(prepared) < settings.CASE_HANDLED_MIN_PHOTOS:
                raise FieldError(
                    "photos",
                    _("处置完毕须上传至少 %(n)d 张处置后照片。") % {"n": settings.CASE_HANDLED_MIN_PHOTOS},
                )
            now = timezone.now()
            before_status, before_team = report.status, report.team
            data = _apply(transition, report, step, actor, now, note, before_status)
            _timers_settle(report, before_status)
            event = record_append(
                report=report,
                action=action,
                from_status=before_status,
                actor=actor,
                at=now,
                point=point,
                note=note,
                data=data,
            )
            if prepared:
                photos_store(report=report, prepared=prepared, into=stored)
                for photo in stored:
                    photo.event = event
                    photo.save(update_fields=["event"])
            report.save()
            streams = events.report_streams(report)
            if before_team is not None and before_team.pk != report.team_id:
                streams.append(events.team_stream(before_team.code))
            outbox_emit(
                type=events.CASE_UPDATED, data=events.case_payload(report, action=action), streams=streams
            )
    except BaseException:
        photos_discard(stored)
        raise
    logger.info(
        "case %s: %s by %s (%s → %s)",
        report.number,
        action,
        getattr(actor, "username", SYSTEM),
        before_status,
        report.status,
    )
    return report


# --- Timers ---------------------------------------------------------------------------------------

TIMER_KINDS = (Alert.Kind.CASE_DUE_SOON, Alert.Kind.CASE_OVERDUE, Alert.Kind.ESCALATION_LATE)


def _timers_settle(report: Report, before_status: str) -> None:
    """After a step: clear the timer alerts that no longer apply (the case left the clock, the
    deadline moved, the county team reported in)."""
    clear = []
    if report.status not in lifecycle.HANDLING_CLOCK or report.warned_at is None:
        clear += [Alert.Kind.CASE_DUE_SOON, Alert.Kind.CASE_OVERDUE]
    if report.status != S.ESCALATED:
        clear.append(Alert.Kind.ESCALATION_LATE)
    if report.status not in lifecycle.HANDLING_CLOCK:
        report.warned_at = report.overdue_at = None
    for alert in Alert.objects.filter(report=report, kind__in=clear, status=Alert.Status.OPEN).select_related(
        "team", "township", "unit"
    ):
        alert.status = Alert.Status.CLEARED
        alert.cleared_at = timezone.now()
        alert.save(update_fields=["status", "cleared_at"])
        outbox_emit(
            type=events.ALERT_UPDATED, data=events.alert_payload(alert), streams=events.alert_streams(alert)
        )


def _timer_alert(report: Report, kind: str, message: str, now: datetime) -> None:
    alert = Alert.objects.create(
        kind=kind,
        report=report,
        team=report.team,
        township=report.township,
        point=report.point,
        message=message[:200],
        data={"report": report.pk, "number": report.number, "due_at": events.local_iso(report.due_at)},
        raised_at=now,
    )
    outbox_emit(
        type=events.ALERT_RAISED, data=events.alert_payload(alert), streams=events.alert_streams(alert)
    )


def case_timers_sweep(*, now: datetime | None = None) -> dict:
    """Warn before the limit, raise at the limit, chase a county team that has not reported in.

    Runs every minute (Celery beat). Each case is warned once and raised once per deadline
    (`warned_at`, `overdue_at`; an approved extension resets them); each step is recorded in the
    case's record by the system, and the alert goes to the county, township and team streams.
    Idempotent: running twice at the same moment does nothing the second time."""
    now = now or timezone.now()
    counts = {"warned": 0, "overdue": 0, "escalation_late": 0}
    lead = ExpressionWrapper(
        (F("due_at") - F("registered_at")) * settings.CASE_WARNING_FRACTION, output_field=DurationField()
    )
    running = Report.objects.filter(status__in=lifecycle.HANDLING_CLOCK, due_at__isnull=False)
    due_soon = (
        running.filter(warned_at__isnull=True, registered_at__isnull=False, due_at__gt=now)
        .alias(lead=lead)
        .filter(due_at__lte=now + F("lead"))
    )
    overdue = running.filter(overdue_at__isnull=True, due_at__lte=now)
    late = Report.objects.filter(status=S.ESCALATED, escalation_due_at__lte=now).exclude(
        alerts__kind=Alert.Kind.ESCALATION_LATE, alerts__status=Alert.Status.OPEN
    )
    for name, queryset in (("warned", due_soon), ("overdue", overdue), ("escalation_late", late)):
        for pk in list(queryset.values_list("pk", flat=True)[: settings.CASE_TIMER_BATCH]):
            with transaction.atomic():
                report = case_locked(Report(pk=pk))
                if _timer_fire(name, report, now):
                    counts[name] += 1
    if any(counts.values()):
        logger.info("case timers: %s", counts)
    return counts


def _timer_fire(name: str, report: Report, now: datetime) -> bool:
    """One timer on one locked case; re-checked under the lock (another sweep may have run)."""
    due = timezone.localtime(report.due_at).strftime("%m-%d %H:%M") if report.due_at else ""
    if name == "warned":
        if report.warned_at is not None or report.status not in lifecycle.HANDLING_CLOCK:
            return False
        report.warned_at = now
        message = _("案件 %(n)s 临近办理期限（%(due)s）") % {"n": report.number, "due": due}
        kind, action = Alert.Kind.CASE_DUE_SOON, "due_soon"
    elif name == "overdue":
        if report.overdue_at is not None or report.status not in lifecycle.HANDLING_CLOCK:
            return False
        report.overdue_at = now
        report.warned_at = report.warned_at or now
        message = _("案件 %(n)s 已超过办理期限（%(due)s），已提请督办") % {"n": report.number, "due": due}
        kind, action = Alert.Kind.CASE_OVERDUE, "overdue"
    else:
        if report.status != S.ESCALATED:
            return False
        if Alert.objects.filter(
            report=report, kind=Alert.Kind.ESCALATION_LATE, status=Alert.Status.OPEN
        ).exists():
            return False
        team = report.team.name if report.team_id else ""
        message = _("%(team)s 未在期限内对案件 %(n)s 报到") % {"team": team, "n": report.number}
        kind, action = Alert.Kind.ESCALATION_LATE, "escalation_late"
    _timer_alert(report, kind, message, now)
    record_append(report=report, action=action, from_status=report.status, actor=None, at=now, note=message)
    report.save(update_fields=["warned_at", "overdue_at", "record_seq", "record_hash"])
    outbox_emit(
        type=events.CASE_UPDATED,
        data=events.case_payload(report, action=action),
        streams=events.report_streams(report),
    )
    return True
