"""The public disclosure page (`/public/cases/`): closed penalty cases, personal data masked, for
anyone without signing in (gridops/selectors/disclosure.py decides what may be shown)."""

from datetime import date

from django.views.generic import TemplateView

from frontend import selectors
from gridops.selectors.disclosure import public_closed_cases


def _month(raw: str | None) -> date | None:
    try:
        year, month = (int(part) for part in (raw or "").split("-")[:2])
        return date(year, month, 1)
    except ValueError:
        return None


class PublicCasesView(TemplateView):
    template_name = "frontend/public_cases.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        params = self.request.GET
        townships = selectors.townships_for_filter()
        township = params.get("township") or None
        if township not in {t["code"] for t in townships}:
            township = None
        month = _month(params.get("month"))
        cases, page = public_closed_cases(township=township, month=month, page=params.get("page") or 1)
        context.update(
            cases=cases,
            page=page,
            townships=townships,
            township=township,
            month=month.strftime("%Y-%m") if month else "",
        )
        return context
