"""Open311 GeoReport v2 doors (JSON only). Thin: parse, authenticate the api_key, call the selector
or report_submit, shape the answer the spec's way.

Errors follow the spec: a JSON list [{"code": <HTTP status>, "description": "<field>: <message>"}]
with the HTTP status of the same number, so a GeoReport client finds the field at fault.
API keys are DRF tokens of users allowed to submit (see OPEN311_SUBMIT_GROUPS and docs/OPEN311.md).
"""

import json
import logging
from datetime import datetime

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.decorators import method_decorator
from django.utils.timezone import is_naive, make_aware
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework.authtoken.models import Token

from geodata.coords import point_from_request
from geodata.errors import FieldError
from gridops.models import Report
from gridops.open311 import selectors
from gridops.ratelimit import client_address, ratelimit_hit, ratelimit_message, ratelimit_peek
from gridops.services.reports import IdempotencyConflict, ReportInput, report_submit

logger = logging.getLogger("gridops.open311")

# Users of these groups (and superusers) may submit with their token as api_key: the 12345 hotline
# integration account ("open311"), dispatchers, grid workers and administrators.
OPEN311_SUBMIT_GROUPS = ("open311", "dispatcher", "grid_worker", "admin")

# Our field names → the GeoReport parameter the caller sent.
_SPEC_FIELD = {"lon": "long", "lat": "lat", "matter": "service_code", "idempotency_key": "client_uuid"}


class Open311Error(Exception):
    def __init__(self, status: int, field: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message
        self.retry_after = retry_after


def _json(data, status: int = 200) -> JsonResponse:
    return JsonResponse(
        data,
        status=status,
        safe=False,
        json_dumps_params={"ensure_ascii": False},
        content_type="application/json; charset=utf-8",
    )


def _error_response(request: HttpRequest, exc: Open311Error) -> JsonResponse:
    description = f"{exc.field}: {exc.message}" if exc.field else exc.message
    logger.info("open311 refused %s %s: %s %s", request.method, request.path, exc.status, description)
    response = _json([{"code": exc.status, "description": description}], status=exc.status)
    if exc.retry_after is not None:
        response["Retry-After"] = str(exc.retry_after)
    return response


def _limited(wait: int | None) -> None:
    """429 in the spec's error shape, with Retry-After, when a limit says wait."""
    if wait is not None:
        raise Open311Error(429, "rate_limit", ratelimit_message(wait), retry_after=wait)


def _from_field_error(exc: FieldError, status: int = 400) -> Open311Error:
    return Open311Error(status, _SPEC_FIELD.get(exc.field, exc.field), exc.message)


class Open311View(View):
    """Turns Open311Error into the spec's error list; any method not defined answers 405."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except Open311Error as exc:
            return _error_response(request, exc)

    def http_method_not_allowed(self, request, *args, **kwargs):
        exc = Open311Error(405, "", _("不支持的请求方法 %(m)s。") % {"m": request.method})
        response = _error_response(request, exc)
        response["Allow"] = ", ".join(m.upper() for m in self._allowed_methods())
        return response


def _point(params, *, required: bool) -> tuple[float, float] | tuple[None, None]:
    lat, lon = (params.get("lat") or "").strip(), (params.get("long") or "").strip()
    if not lat and not lon and not required:
        return None, None
    for name, value in (("lat", lat), ("long", lon)):
        if not value:
            raise Open311Error(400, name, _("必填（WGS-84 度）。"))
    try:
        wlon, wlat, _crs = point_from_request(lon, lat, "wgs84")
    except FieldError as exc:
        raise _from_field_error(exc) from None
    return wlon, wlat


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("open311:discovery")).rsplit("/", 1)[0]


class DiscoveryView(Open311View):
    def get(self, request):
        return _json(selectors.open311_discovery(base_url=_base_url(request)))


class ServiceListView(Open311View):
    def get(self, request):
        lon, lat = _point(request.GET, required=False)
        return _json(selectors.open311_service_list(lon=lon, lat=lat))


class ServiceDefinitionView(Open311View):
    def get(self, request, code: str):
        matter = selectors.open311_service_get(code=code)
        if matter is None:
            raise Open311Error(404, "service_code", _("没有该服务（事项编码）：%(code)s。") % {"code": code})
        return _json(selectors.open311_service_definition(matter=matter))


def _api_user(request: HttpRequest, key: str):
    """The user behind an api_key, or raises 401 (none) / 403 (unknown or not allowed).

    Wrong keys count against the client address like failed logins (the same limit: guessing a
    key is guessing a password), and an address over it is refused before the key is looked up."""
    address = f"ip:{client_address(request)}"
    _limited(ratelimit_peek(scope="login_failures_ip", ident=address))
    if not key:
        raise Open311Error(401, "api_key", _("缺少 api_key。"))
    token = Token.objects.select_related("user").filter(key=key).first()
    user = token.user if token else None
    if user is None or not user.is_active:
        ratelimit_hit(scope="login_failures_ip", ident=address)
        raise Open311Error(403, "api_key", _("api_key 无效。"))
    if not user.is_superuser and not user.groups.filter(name__in=OPEN311_SUBMIT_GROUPS).exists():
        raise Open311Error(403, "api_key", _("该 api_key 无权提交服务请求。"))
    return user


def _post_params(request: HttpRequest) -> dict[str, str]:
    """Form-encoded (the spec's way) or a JSON object; values as strings."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise Open311Error(400, "body", _("请求体不是有效的 JSON。")) from None
        if not isinstance(body, dict):
            raise Open311Error(400, "body", _("请求体应为 JSON 对象。"))
        return {k: "" if v is None else str(v) for k, v in body.items()}
    return {k: request.POST.get(k, "") for k in request.POST}


def _parse_time(params, name: str) -> datetime | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = parse_datetime(raw.replace(" ", "+"))  # a '+' in a query string arrives as ' '
    except ValueError:
        value = None
    if value is None:
        raise Open311Error(400, name, _("应为 ISO 8601 时间，例如 2026-05-01T09:30:00+08:00。"))
    return make_aware(value) if is_naive(value) else value


def _csv(params, name: str) -> list[str]:
    return [v.strip() for v in (params.get(name) or "").split(",") if v.strip()]


@method_decorator(csrf_exempt, name="dispatch")  # authenticated by api_key, never by a session cookie
class RequestListView(Open311View):
    def get(self, request):
        params = request.GET
        statuses = [s.lower() for s in _csv(params, "status")]
        bad = [s for s in statuses if s not in ("open", "closed")]
        if bad:
            raise Open311Error(
                400, "status", _("只能是 open 或 closed，收到 %(s)s。") % {"s": ", ".join(bad)}
            )
        start, end = _parse_time(params, "start_date"), _parse_time(params, "end_date")
        if start and end and end < start:
            raise Open311Error(400, "end_date", _("结束时间早于开始时间。"))
        if start and end and end - start > selectors.MAX_SPAN:
            raise Open311Error(400, "end_date", _("时间跨度不能超过 90 天。"))
        if start and not end:
            end = min(start + selectors.MAX_SPAN, datetime.now(start.tzinfo))
        reports = selectors.open311_request_list(
            request_ids=_csv(params, "service_request_id"),
            service_codes=_csv(params, "service_code"),
            start=start,
            end=end,
            statuses=statuses,
        )
        return _json([selectors.open311_request_dict(r) for r in reports])

    def post(self, request):
        params = _post_params(request)
        user = _api_user(request, (params.get("api_key") or request.headers.get("X-Api-Key") or "").strip())
        # The same per-user write limit as POST /api/v1/reports/ (one budget whichever door).
        _limited(ratelimit_hit(scope="user_writes", ident=f"user:{user.pk}"))
        code = (params.get("service_code") or "").strip()
        if not code:
            raise Open311Error(400, "service_code", _("必填。"))
        if selectors.open311_service_get(code=code) is None:
            raise Open311Error(400, "service_code", _("没有该服务（事项编码）：%(code)s。") % {"code": code})
        lon, lat = _point(params, required=True)
        name = (params.get("last_name", "") + params.get("first_name", "")).strip()
        data = ReportInput(
            source=Report.Source.OPEN311,
            lon=lon,
            lat=lat,
            crs="wgs84",
            matter_code=code,
            description=params.get("description", ""),
            address=params.get("address_string", "").strip(),
            reporter_name=name,
            reporter_phone=params.get("phone", "").strip(),
        )
        key = (params.get("client_uuid") or request.headers.get("Idempotency-Key") or "").strip() or None
        try:
            report, created = report_submit(data=data, reporter=user, idempotency_key=key)
        except IdempotencyConflict as exc:
            raise _from_field_error(exc, status=422) from None
        except FieldError as exc:
            raise _from_field_error(exc) from None
        body = [
            {
                "service_request_id": report.number,
                "service_notice": selectors.open311_service_notice(report),
                "account_id": None,
            }
        ]
        return _json(body, status=201 if created else 200)


class RequestDetailView(Open311View):
    def get(self, request, request_id: str):
        report = selectors.open311_request_get(request_id=request_id)
        if report is None:
            raise Open311Error(404, "service_request_id", _("没有该服务请求：%(id)s。") % {"id": request_id})
        return _json([selectors.open311_request_dict(report)])
