"""The public disclosure page (`/public/cases/`): closed penalty cases only, no personal data."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from geodata.models import Matter
from gridops.models import Report
from gridops.services.reports import ReportInput, report_submit


@pytest.fixture
def cases(tiny_county, django_user_model):
    worker = django_user_model.objects.create_user("worker", password="x", first_name="王五")
    worker.groups.add(Group.objects.get_or_create(name="grid_worker")[0])
    Matter.objects.filter(code="ZH-001").update(kind=Matter.Kind.PENALTY)
    Matter.objects.filter(code="SC-101").update(kind=Matter.Kind.INSPECTION)

    def make(matter, status, description, lon=121.005, lat=29.005):
        report, _ = report_submit(
            data=ReportInput(
                source="grid_worker",
                lon=lon,
                lat=lat,
                matter_code=matter,
                description=description,
                reporter_name="张三",
                reporter_phone="13812345678",
                address="丹东路 18 号",
            ),
            reporter=worker,
        )
        Report.objects.filter(pk=report.pk).update(status=status, closed_at=timezone.now())
        return report

    return {
        "closed": make("ZH-001", Report.Status.CLOSED, "店主李四占道摆摊，电话13912345678"),
        "east": make("ZH-001", Report.Status.CLOSED, "占道", lon=121.035),
        "open": make("ZH-001", Report.Status.HANDLING, "仍在处置"),
        "inspection": make("SC-101", Report.Status.CLOSED, "检查"),
    }


def test_only_closed_penalty_cases_without_personal_data(cases):
    html = Client().get("/public/cases/").content.decode()
    assert cases["closed"].number in html and cases["east"].number in html
    assert cases["open"].number not in html and cases["inspection"].number not in html
    for secret in ("李四", "13912345678", "13812345678", "张三", "王五", "丹东路", "121.005", "占道摆摊"):
        assert secret not in html, secret
    assert "占道经营" in html and "丹东街道" in html  # the matter and the township are public


def test_filters_by_township_and_month(cases):
    east = Client().get("/public/cases/?township=330225101").content.decode()
    assert cases["east"].number in east and cases["closed"].number not in east
    month = timezone.localdate().strftime("%Y-%m")
    assert cases["closed"].number in Client().get(f"/public/cases/?month={month}").content.decode()
    assert cases["closed"].number not in Client().get("/public/cases/?month=2001-01").content.decode()
    # Nonsense parameters are ignored, never a 500.
    assert Client().get("/public/cases/?township=x&month=banana&page=-3").status_code == 200
