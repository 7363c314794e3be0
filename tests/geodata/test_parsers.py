"""JSON request bodies (geodata/api/parsers.py): a malformed body is a field-level 400 under `body`
on every JSON endpoint, never a 500; the trackers' orjson parser reads every body as the standard
decoder does, or hands it to it."""

import io
import json
import math
from datetime import timedelta

import pytest
from rest_framework.exceptions import ParseError

from geodata.api.parsers import FastJSONParser, JSONParser
from gridops.models import Ping, Report
from tests.gridops.units_factory import fix, minutes_ago, tracked_unit

DEEP = b"[" * 50_000  # the standard decoder recurses once per level: RecursionError, was a 500


def parse(parser, raw: bytes, charset: str | None = None):
    context = {"encoding": charset} if charset else {}
    return parser.parse(io.BytesIO(raw), "application/json", context)


def outcome(parser, raw: bytes, charset: str | None = None):
    try:
        return ("ok", parse(parser, raw, charset))
    except ParseError as exc:
        return ("refused", exc.detail)


BODIES = [
    b'{"items": [{"t": "2026-05-01T09:30:00+08:00", "lon": 121.87, "lat": 29.47, "speed": 32.5}]}',
    b'[{"t": 1777599005, "lon": 121.871, "lat": 29.471, "heading": 90, "accuracy": 8}]',
    b'{"a": 1, "a": 2}',  # the last of a repeated key, as the standard decoder
    b"1e400",  # orjson refuses; the standard decoder reads inf
    b"[-1e400, 1e-400, 0.30000000000000004, -0.0, 9007199254740993, -9223372036854775808]",
    b'"\\ud800"',  # a lone surrogate: orjson refuses, the standard decoder accepts
    b'"\\u4e2d\\u6587" ',
    '"中文"'.encode(),
    b"NaN",  # strict JSON (DRF's STRICT_JSON): refused
    b'{"lon": Infinity}',
    b"[1, 2,]",
    b"{not json",
    b"",
    b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
    b'"\xff"',  # not UTF-8
    b"[" * 2000 + b"]" * 2000,  # deeper than orjson's limit, within the standard decoder's
    DEEP,
]


def same(a, b) -> bool:
    """Equal values, NaN-free floats compared by value and type (1 and 1.0 differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


@pytest.mark.parametrize("raw", BODIES, ids=range(len(BODIES)))
def test_the_orjson_parser_answers_every_body_as_the_standard_one(raw):
    fast, standard = outcome(FastJSONParser(), raw), outcome(JSONParser(), raw)
    assert fast[0] == standard[0], (fast, standard)
    if fast[0] == "ok":
        assert same(fast[1], standard[1]), (fast, standard)
    else:
        assert fast[1] == standard[1]


def test_the_one_documented_difference_is_an_integer_beyond_64_bits():
    """orjson reads 2**64 as a float; the tracker batches read every number as a float anyway."""
    assert parse(JSONParser(), b"18446744073709551616") == 2**64
    assert parse(FastJSONParser(), b"18446744073709551616") == float(2**64)


def test_a_body_in_another_charset_is_decoded_by_the_standard_parser():
    raw = '{"description": "占道经营"}'.encode("gb18030")
    assert parse(FastJSONParser(), raw, "gb18030") == {"description": "占道经营"}
    assert parse(JSONParser(), raw, "gb18030") == {"description": "占道经营"}


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{not json", ["第 1 行第 2 列"]),
        (DEEP, ["嵌套"]),
        (b'"\xff"', ["UTF-8"]),
        (b"[NaN]", ["NaN"]),
    ],
)
def test_a_malformed_body_is_refused_under_body_naming_the_place(raw, words):
    with pytest.raises(ParseError) as refused:
        parse(JSONParser(), raw)
    assert list(refused.value.detail) == ["body"]
    message = str(refused.value.detail["body"][0])
    assert all(w in message for w in words), message


# --- Over HTTP: the reports' door (DRF's default parsers) and the trackers' ---------------------------


@pytest.fixture
def car(tiny_county):
    return tracked_unit(tiny_county.teams["W"])


def test_a_deeply_nested_body_is_400_on_the_report_and_ping_doors(client, car, django_user_model):
    user = django_user_model.objects.create_user("nested", password="x")
    client.force_login(user)
    report = client.post("/api/v1/reports/", DEEP, content_type="application/json")
    assert report.status_code == 400, report.content[:200]
    assert list(report.json()) == ["body"]
    client.logout()
    pings = client.post("/api/v1/pings/", DEEP, content_type="application/json", **car.header)
    assert pings.status_code == 400, pings.content[:200]
    assert list(pings.json()) == ["body"]
    assert not Report.objects.exists() and not Ping.objects.exists()


def test_a_ping_body_over_the_upload_limit_is_413_with_the_field(client, car, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    t = minutes_ago(5)
    body = json.dumps({"items": [fix(t + timedelta(seconds=i), 121.005, 29.005) for i in range(200)]})
    response = client.post("/api/v1/pings/", body, content_type="application/json", **car.header)
    assert response.status_code == 413, response.content[:200]
    assert list(response.json()) == ["body"] and "KB" in response.json()["body"][0]
    assert not Ping.objects.exists()


def test_a_tracker_batch_parsed_by_orjson_is_stored_as_before(client, car):
    t = minutes_ago(5)
    items = [{"t": t.isoformat(), "lon": 121.005, "lat": 29.005, "speed": 12, "heading": 360}]
    response = client.post(
        "/api/v1/pings/", json.dumps({"items": items}), content_type="application/json", **car.header
    )
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    stored = Ping.objects.get()
    assert (stored.fixed_at, stored.speed, stored.heading) == (t, 12.0, 0.0)
