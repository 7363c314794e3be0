"""The closed loop's states and transitions: what may happen to a case, from where, and by whom.

A report *is* the case: one row from the first sighting to closure (GB/T 30428: 受理/立案 → 派遣 →
处置 → 核查 → 结案, with 返工 when verification fails). This module is the table; the service
(gridops/services/cases.py) checks it and records every step, and the API and the command centre
ask it which actions are allowed next.

    new ──register──► registered ──dispatch──► dispatched ──accept──► accepted ──start──► handling
     │  (triage: assign first)                                                             │
     └─not_register─► not_registered                                   handled ◄──handle───┘
                                                                          │  ▲
                                          verify_pass ◄───────────────────┘  └── verify_fail (返工)
                                               │                                  back to handling
                                           verified ──close──► closed

    side paths (from registered / dispatched / accepted / handling):
      escalate ─► escalated ──report_in (报到 by the county team)──► registered (county team)
      refer    ─► referred (judiciary / police / court)  |  to a county department team: registered there
      suspend  ─► suspended (挂账) ──resume──► the state it left
      request_extension → approve_extension / refuse_extension (延期: the deadline moves, state stays)

Who acts (roles are Django groups; see `actor_roles`):
    dispatcher   register, not_register, dispatch, escalate, refer, close, verify, approve extensions
    officer      of the case's team: accept, start, handle, request an extension, escalate;
                 of the county team an escalated case went to: report_in
    supervisor   suspend, resume, approve / refuse extensions, verify
    grid_worker  verify the cases they reported
Verification is never done by the officer who handled the case.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from gridops.models import Report

S = Report.Status

DISPATCHER = "dispatcher"
OFFICER = "officer"  # an officer of the case's team (Officer.team == report.team)
SUPERVISOR = "supervisor"
REPORTER = "reporter"  # the grid worker who reported the case
ADMIN = "admin"

# Where the handling clock runs (the matter's limit, from registration); the response clock runs
# before registration; suspended, closed and terminal states have none.
WAITING = (S.NEW, S.TRIAGE)
IN_HAND = (S.REGISTERED, S.DISPATCHED, S.ACCEPTED, S.HANDLING)
HANDLING_CLOCK = (*IN_HAND, S.HANDLED, S.VERIFIED)
OPEN = (*WAITING, *HANDLING_CLOCK, S.ESCALATED, S.SUSPENDED)
FINISHED = (S.CLOSED, S.NOT_REGISTERED, S.REFERRED)


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: decided by the service (resume, refer to a team) or unchanged
    roles: tuple[str, ...]
    needs_note: bool = False
    needs_location: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        # A button: the same words are also a count and a status ("Registered", "Not registered").
        Transition("register", pgettext_lazy("case action", "立案"), (S.NEW,), S.REGISTERED, (DISPATCHER,)),
        Transition(
            "not_register",
            pgettext_lazy("case action", "不予立案"),
            (S.NEW, S.TRIAGE),
            S.NOT_REGISTERED,
            (DISPATCHER,),
            needs_note=True,
        ),
        Transition("dispatch", _("派遣"), (S.REGISTERED,), S.DISPATCHED, (DISPATCHER,)),
        Transition("accept", _("签收"), (S.DISPATCHED,), S.ACCEPTED, (OFFICER,)),
        Transition("start", _("到场处置"), (S.ACCEPTED,), S.HANDLING, (OFFICER,)),
        Transition("handle", _("处置完毕"), (S.HANDLING,), S.HANDLED, (OFFICER,), needs_note=True),
        Transition(
            "verify_pass",
            _("核查通过"),
            (S.HANDLED,),
            S.VERIFIED,
            (DISPATCHER, SUPERVISOR, REPORTER),
            needs_location=True,
        ),
        Transition(
            "verify_fail",
            _("核查不通过（返工）"),
            (S.HANDLED,),
            S.HANDLING,
            (DISPATCHER, SUPERVISOR, REPORTER),
            needs_note=True,
            needs_location=True,
        ),
        Transition("close", _("结案"), (S.VERIFIED,), S.CLOSED, (DISPATCHER,)),
        Transition(
            "escalate",
            _("提请县级（乡呼县应）"),
            IN_HAND,
            S.ESCALATED,
            (DISPATCHER, OFFICER),
            needs_note=True,
        ),
        Transition("report_in", _("县级报到"), (S.ESCALATED,), S.REGISTERED, (OFFICER, DISPATCHER)),
        Transition("refer", _("移送"), (*IN_HAND, S.ESCALATED), None, (DISPATCHER,), needs_note=True),
        Transition("suspend", _("挂账"), (*IN_HAND, S.HANDLED), S.SUSPENDED, (SUPERVISOR,), needs_note=True),
        Transition("resume", _("恢复办理"), (S.SUSPENDED,), None, (SUPERVISOR, DISPATCHER)),
        Transition("request_extension", _("申请延期"), IN_HAND, None, (OFFICER, DISPATCHER), needs_note=True),
        Transition("approve_extension", _("批准延期"), IN_HAND, None, (SUPERVISOR, DISPATCHER)),
        Transition(
            "refuse_extension", _("驳回延期"), IN_HAND, None, (SUPERVISOR, DISPATCHER), needs_note=True
        ),
    )
}


# Steps recorded without a transition: the hand-over to another team, and the timers' notices.
OTHER_STEPS = {
    "assign": _("指派"),
    "due_soon": _("临期提醒"),
    "overdue": _("超期督办"),
    "escalation_late": _("县级未按时报到"),
}


def step_label(action: str) -> str:
    """The words for a recorded step (a transition's label, or one of OTHER_STEPS)."""
    transition = TRANSITIONS.get(action)
    return str(transition.label if transition else OTHER_STEPS.get(action, action))


class Referral:
    """Where a case can be referred (移送). A county department has a team on the platform and
    the case is handed over to it; the others leave the platform with the record."""

    DEPARTMENT = "department"
    JUDICIARY = "judiciary"
    POLICE = "police"
    COURT = "court"
    CHOICES = {
        DEPARTMENT: _("移送县级主管部门"),
        JUDICIARY: _("涉嫌犯罪，移送司法机关"),
        POLICE: _("暴力抗法，移送公安机关"),
        COURT: _("申请法院强制执行"),
    }
