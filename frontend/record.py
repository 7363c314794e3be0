"""A case's full-process record (执法全过程记录) as a printable page: `/cases/<id>/record/`.

Server-rendered and print-ready (A4, no map, no JS needed except the print button), so it can be
printed or saved as PDF from any browser as evidence. It shows the chain as checked at the moment of
printing: intact, or the first broken row named. Who may read it: anyone with a role on the case
(gridops.services.cases.actor_roles), supervisors, dispatchers and staff.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django.views.generic import TemplateView

from gridops.api.report_serializers import case_events
from gridops.record import record_verify
from gridops.selectors.reports import phone_mask, report_get, user_sees_contact
from gridops.services.cases import actor_roles


class CaseRecordView(LoginRequiredMixin, TemplateView):
    template_name = "frontend/record.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report = report_get(pk=kwargs["pk"])
        if report is None:
            raise Http404
        user = self.request.user
        if not (user.is_staff or actor_roles(user=user, report=report)):
            raise PermissionDenied
        _checked, problems = record_verify(reports=[report])
        events = case_events(report)
        for event in events:
            event["at_display"] = timezone.localtime(timezone.datetime.fromisoformat(event["at"])).strftime(
                "%Y-%m-%d %H:%M:%S"
            )
        context.update(
            report=report,
            events=events,
            problems=[str(p) for p in problems],
            reporter_phone=report.reporter_phone
            if user_sees_contact(user=user)
            else phone_mask(report.reporter_phone),
            intake_photos=[p for p in report.photos.all() if p.event_id is None],
            printed_at=timezone.localtime(),
            reasons=(report.routing or {}).get("reasons", []),
            village=(report.routing or {}).get("village"),
        )
        return context
