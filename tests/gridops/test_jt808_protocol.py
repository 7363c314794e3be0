"""JT/T 808 on the wire (gridops/jt808/protocol.py): frames written out byte by byte from the
standard, then decoded; escaping, the check code, BCD numbers and times, 2013 and 2019 headers,
sub-packages, 0x0704 batches, and a stream reader that survives whatever TCP and peers do.

No database: protocol.py is pure.

    0x7e │ header │ body │ check code │ 0x7e        check code = XOR of header and body
          └──── 0x7e → 7d 02, 0x7d → 7d 01 ─┘
"""

from datetime import datetime
from functools import reduce

import pytest

from gridops.jt808 import protocol as p

TERMINAL_2013 = "013800138000"
TERMINAL_2019 = "00000000013800138000"


def xor(data: bytes) -> int:
    """The check code, computed here the slow, obvious way."""
    return reduce(lambda a, b: a ^ b, data, 0)


def wire(content: bytes) -> bytes:
    """Header + body → a frame, escaping written out by hand."""
    data = content + bytes([xor(content)])
    escaped = bytearray()
    for b in data:
        escaped += {0x7E: b"\x7d\x02", 0x7D: b"\x7d\x01"}.get(b, bytes([b]))
    return b"\x7e" + bytes(escaped) + b"\x7e"


# A location report body (28 bytes + additional items), field by field:
LOCATION_BODY = bytes.fromhex(
    "00000000"  # alarm: none
    "00000003"  # status: ACC on (bit 0), positioned (bit 1), north, east
    "01c1ad30"  # latitude 29.470000° × 10⁶
    "074396b0"  # longitude 121.870000° × 10⁶
    "000c"  # altitude 12 m
    "0145"  # speed 325 × 0.1 km/h = 32.5 km/h
    "005a"  # direction 90° (east)
    "260501093000"  # 2026-05-01 09:30:00 Beijing time (BCD)
    "0104000004d2"  # 0x01 mileage: 1234 × 0.1 km
    "30011f"  # 0x30 signal strength 31
    "31010a"  # 0x31 satellites 10
)


def test_escaping_matches_the_standard_example():
    # JT/T 808-2013 §4.4.2: 0x30 0x7e 0x08 0x7d 0x55 is sent as 0x30 0x7d 0x02 0x08 0x7d 0x01 0x55.
    assert p.escape(bytes.fromhex("307e087d55")) == bytes.fromhex("307d02087d0155")
    assert p.unescape(bytes.fromhex("307d02087d0155")) == bytes.fromhex("307e087d55")
    with pytest.raises(p.ProtocolError) as err:
        p.unescape(bytes.fromhex("307d0355"))
    assert err.value.reason == p.REASON_BAD_ESCAPE


def test_check_code_is_the_xor_of_header_and_body():
    for n in (0, 1, 7, 8, 9, 40, 1023):
        data = bytes((i * 37 + 11) % 256 for i in range(n))
        assert p.check_code(data) == xor(data)


def test_bcd_numbers_and_times():
    assert p.bcd_encode("13800138000", 6) == bytes.fromhex("013800138000")
    assert p.bcd_decode(bytes.fromhex("013800138000")) == "013800138000"
    with pytest.raises(p.ProtocolError) as err:
        p.bcd_decode(bytes.fromhex("01380013800a"))
    assert err.value.reason == p.REASON_BAD_BCD
    at = p.bcd_time_decode(bytes.fromhex("260501093000"))
    assert at == datetime(2026, 5, 1, 9, 30, tzinfo=p.CHINA_TZ)
    assert at.isoformat() == "2026-05-01T09:30:00+08:00"
    assert p.bcd_time_encode(datetime.fromisoformat("2026-05-01T01:30:00+00:00")) == bytes.fromhex(
        "260501093000"
    )
    with pytest.raises(p.ProtocolError):
        p.bcd_time_decode(bytes.fromhex("261301093000"))  # month 13


def test_a_2013_heartbeat_byte_by_byte():
    content = bytes.fromhex(
        "0002"  # message id: terminal heartbeat
        "0000"  # body properties: length 0, no encryption, not split, 2013
        "013800138000"  # terminal number, BCD[6]
        "0001"  # serial number
    )
    frame = bytes.fromhex("7e 0002 0000 013800138000 0001 a9 7e")  # check code by hand
    assert wire(content) == frame
    assert p.frame_encode(p.HEARTBEAT, "13800138000", 1) == frame
    (decoded,) = p.FrameReader().feed(frame)
    h = decoded.header
    assert (h.msg_id, h.terminal, h.serial, h.version, h.body_length, h.is_split) == (
        0x0002,
        TERMINAL_2013,
        1,
        None,
        0,
        False,
    )
    assert decoded.body == b""


def test_a_2013_location_report_byte_by_byte():
    content = bytes.fromhex("0200 0028 013800138000 0007") + LOCATION_BODY
    assert len(LOCATION_BODY) == 0x28
    (frame,) = p.FrameReader().feed(wire(content))
    assert frame.header.msg_id == p.LOCATION and frame.header.serial == 7
    loc = p.location_decode(frame.body)
    assert (loc.lat, loc.lon, loc.altitude, loc.speed, loc.direction) == (29.47, 121.87, 12, 32.5, 90)
    assert loc.at == datetime(2026, 5, 1, 9, 30, tzinfo=p.CHINA_TZ)
    assert loc.positioned and loc.status & p.STATUS_ACC and loc.alarm == 0
    assert loc.mileage_km == 123.4 and loc.satellites == 10 and loc.extras[p.EXTRA_SIGNAL] == b"\x1f"
    assert p.location_encode(loc) == LOCATION_BODY  # and back, byte for byte


def test_south_west_and_alarm_bits():
    body = bytearray(LOCATION_BODY[:28])
    body[0:4] = (p.ALARM_EMERGENCY | p.ALARM_OVERSPEED).to_bytes(4, "big")
    body[4:8] = (p.STATUS_POSITIONED | p.STATUS_SOUTH | p.STATUS_WEST).to_bytes(4, "big")
    loc = p.location_decode(bytes(body))
    assert (loc.lat, loc.lon) == (-29.47, -121.87)
    assert loc.alarm & p.ALARM_EMERGENCY and loc.alarm & p.ALARM_OVERSPEED
    assert not loc.extras and loc.mileage_km is None
    unpositioned = bytearray(LOCATION_BODY)
    unpositioned[4:8] = (0).to_bytes(4, "big")
    assert not p.location_decode(bytes(unpositioned)).positioned


def test_a_2019_header_byte_by_byte():
    content = (
        bytes.fromhex(
            "0200"  # message id
            "4028"  # body properties: bit 14 (2019 version flag) + length 0x28
            "01"  # protocol version 1
            "00000000013800138000"  # terminal number, BCD[10]
            "0102"  # serial 258
        )
        + LOCATION_BODY
    )
    (frame,) = p.FrameReader().feed(wire(content))
    h = frame.header
    assert (h.version, h.terminal, h.serial, h.is_2019) == (1, TERMINAL_2019, 258, True)
    assert p.location_decode(frame.body).lat == 29.47
    assert p.frame_encode(p.LOCATION, "13800138000", 258, LOCATION_BODY, version=1) == wire(content)


def test_frames_whose_bytes_need_escaping():
    # Serial 0x7e7d and a body holding both flag bytes: escaped on the wire, intact once decoded.
    body = bytes.fromhex("7e7d007e")
    content = bytes.fromhex("0900 0004 013800138000 7e7d") + body
    raw = wire(content)
    assert raw.count(b"\x7e") == 2  # only the two flags
    (frame,) = p.FrameReader().feed(raw)
    assert frame.header.serial == 0x7E7D and frame.body == body
    assert p.frame_encode(0x0900, "13800138000", 0x7E7D, body) == raw


def test_registration_and_authentication_bodies():
    body_2013 = (
        bytes.fromhex("0021 00e1")  # province 33 (浙江), city 225
        + b"GRIDO"  # maker BYTE[5]
        + b"SIM-808".ljust(20, b"\x00")  # model BYTE[20]
        + b"8000001"  # terminal id BYTE[7]
        + b"\x01"  # plate colour: blue
        + "浙B12345".encode("gbk")  # plate
    )
    reg = p.register_decode(body_2013)
    assert (reg.province, reg.city, reg.maker, reg.model, reg.terminal_id) == (
        33,
        225,
        "GRIDO",
        "SIM-808",
        "8000001",
    )
    assert (reg.plate_colour, reg.plate) == (1, "浙B12345")
    assert p.register_encode(reg) == body_2013
    again = p.register_decode(p.register_encode(reg, v2019=True), v2019=True)
    assert again == reg
    with pytest.raises(p.ProtocolError):
        p.register_decode(b"\x00\x21")
    assert p.register_response_decode(p.register_response_encode(7, p.REGISTER_OK, "a1b2")) == (7, 0, "a1b2")
    assert p.register_response_encode(7, p.REGISTER_NO_TERMINAL) == bytes.fromhex("000704")
    assert p.authenticate_decode(b"a1b2c3") == "a1b2c3"
    v2019 = p.authenticate_encode("a1b2c3", v2019=True, imei="860000000000000", software="1.0")
    assert v2019[0] == 6 and len(v2019) == 1 + 6 + 15 + 20
    assert p.authenticate_decode(v2019, v2019=True) == "a1b2c3"
    assert p.platform_response_encode(7, 0x0200, p.RESULT_OK) == bytes.fromhex("0007020000")


def test_a_0704_batch_byte_by_byte_keeps_its_good_items():
    second = bytearray(LOCATION_BODY[:28])
    second[22:28] = bytes.fromhex("260501093005")
    body = (
        bytes.fromhex("0003 01")  # 3 items, type 1: blind-area supplement (盲区补报)
        + len(LOCATION_BODY).to_bytes(2, "big")
        + LOCATION_BODY
        + (28).to_bytes(2, "big")
        + bytes(second)
        + (5).to_bytes(2, "big")
        + b"short"  # a malformed item: kept out, the others stay
    )
    kind, items = p.location_batch_decode(body)
    assert kind == p.BATCH_BLIND_AREA
    assert [type(i) for i in items] == [p.Location, p.Location, p.ProtocolError]
    assert items[1].at.second == 5
    with pytest.raises(p.ProtocolError):
        p.location_batch_decode(bytes.fromhex("000501") + body[3:])  # says 5 items, has 3
    with pytest.raises(p.ProtocolError):
        p.location_batch_decode(body + b"\x00")  # trailing bytes
    locs = [p.location_decode(LOCATION_BODY), p.location_decode(bytes(second))]
    assert p.location_batch_decode(p.location_batch_encode(locs))[1] == locs


def test_sub_packages_byte_by_byte_are_reassembled_in_any_order():
    body = bytes(range(256)) * 3  # 768 bytes in packages of 300, 300, 168
    parts = [body[0:300], body[300:600], body[600:]]
    frames = []
    for k, part in enumerate(parts, start=1):
        content = (
            bytes.fromhex("0704")
            + (0x2000 | len(part)).to_bytes(2, "big")  # bit 13: sub-package
            + bytes.fromhex("013800138000")
            + (40 + k).to_bytes(2, "big")  # serials 41, 42, 43
            + (3).to_bytes(2, "big")  # total packages
            + k.to_bytes(2, "big")  # package number, from 1
        ) + part
        frames.append(wire(content))
    assert frames == p.message_encode(0x0704, "13800138000", 41, body, package_size=300)
    decoded = [f for raw in frames for f in p.FrameReader().feed(raw)]
    assert [(f.header.packet_total, f.header.packet_index) for f in decoded] == [(3, 1), (3, 2), (3, 3)]
    assembler = p.Reassembler(max_body=4096)
    assert assembler.add(decoded[2]) is None
    assert assembler.add(decoded[0]) is None
    assert assembler.add(decoded[0]) is None  # a package sent twice changes nothing
    whole = assembler.add(decoded[1])
    assert whole.body == body and not whole.header.is_split and whole.header.msg_id == 0x0704
    assert assembler.expire() == []


def test_sub_packages_that_never_complete_or_grow_too_large_are_dropped():
    clock = [100.0]
    frames = [
        f
        for raw in p.message_encode(0x0704, "13800138000", 1, bytes(900), package_size=300)
        for f in p.FrameReader().feed(raw)
    ]
    assembler = p.Reassembler(max_body=4096, timeout=30, clock=lambda: clock[0])
    assert assembler.add(frames[0]) is None
    clock[0] += 31
    (late,) = assembler.expire()
    assert late.reason == p.REASON_INCOMPLETE and late.terminal == TERMINAL_2013
    small = p.Reassembler(max_body=500)
    assert small.add(frames[0]) is None
    refused = small.add(frames[1])
    assert refused.reason == p.REASON_OVERSIZED
    assert small.add(frames[2]) is None  # the message was dropped: its last package waits alone


def test_the_reader_survives_any_chunking():
    frames = [p.frame_encode(p.LOCATION, "13800138000", n, LOCATION_BODY) for n in range(1, 6)]
    stream = b"".join(frames)
    for chunk in (1, 2, 3, 7, 50, len(stream)):
        reader = p.FrameReader()
        out = []
        for i in range(0, len(stream), chunk):
            out += reader.feed(stream[i : i + chunk])
        assert [f.header.serial for f in out] == [1, 2, 3, 4, 5], chunk
        assert reader.close() == []


def test_malformed_input_is_rejected_with_its_reason_and_the_good_frames_around_it_survive():
    good = [p.frame_encode(p.HEARTBEAT, "13800138000", n) for n in range(1, 8)]
    bad_check = bytearray(good[0])
    bad_check[-2] ^= 0xFF
    # The sub-package bit says four more header bytes (total, number) follow; they do not.
    header_only = wire(bytes.fromhex("0704 2000 013800138000 0009"))
    short_body = wire(bytes.fromhex("0200 0028 013800138000 000a") + LOCATION_BODY[:20])
    long_body = wire(bytes.fromhex("0002 0000 013800138000 000b") + b"extra")
    bad_bcd = wire(bytes.fromhex("0002 0000 01380013800f 000c"))
    bad_escape = b"\x7e" + bytes.fromhex("0002 0000 013800138000 000d 7d05") + b"\x7e"
    bad_package = wire(bytes.fromhex("0704 2000 013800138000 000e 0002 0003"))
    stream = (
        b"GET / HTTP/1.1\r\n"  # garbage before the first flag
        + good[1]
        + bytes(bad_check)
        + good[2]
        + b"\x00\x01noise"  # garbage between frames: a run between two flags
        + b"\x7e"
        + good[3]
        + header_only
        + short_body
        + long_body
        + bad_bcd
        + bad_escape
        + bad_package
        + good[4]
        + b"\x7e\x7e\x7e"  # doubled flags are just empty runs
        + good[5]
    )
    reader = p.FrameReader()
    out = []
    for i in range(0, len(stream), 5):
        out += reader.feed(stream[i : i + 5])
    frames = [o.header.serial for o in out if isinstance(o, p.Frame)]
    reasons = [o.reason for o in out if isinstance(o, p.Rejection)]
    assert frames == [2, 3, 4, 5, 6]
    assert reasons == [
        p.REASON_GARBAGE,
        p.REASON_BAD_CHECK_CODE,
        p.REASON_TRUNCATED,  # the noise run: shorter than a header
        p.REASON_TRUNCATED,  # header cut short
        p.REASON_TRUNCATED,  # body shorter than its declared length
        p.REASON_LENGTH_MISMATCH,
        p.REASON_BAD_BCD,
        p.REASON_BAD_ESCAPE,
        p.REASON_BAD_PACKAGE,
    ]
    bad = next(o for o in out if isinstance(o, p.Rejection) and o.reason == p.REASON_BAD_CHECK_CODE)
    assert bad.terminal == TERMINAL_2013 and bad.head  # enough to log who sent it


def test_oversized_runs_are_skipped_without_growing_the_buffer():
    reader = p.FrameReader(max_frame=100)
    out = reader.feed(b"\x7e" + b"\x01" * 60)
    out += reader.feed(b"\x01" * 60)  # 120 bytes without a flag: over the limit
    out += reader.feed(b"\x01" * 5000)  # still inside the same run: not reported again
    assert [o.reason for o in out] == [p.REASON_OVERSIZED]
    assert len(reader._buf) <= 100
    good = p.frame_encode(p.HEARTBEAT, "13800138000", 3)
    out = reader.feed(b"\x01\x7e" + good)  # the flag ends the run; the next frame is intact
    assert [o.header.serial for o in out] == [3]


def test_a_connection_closing_inside_a_frame_is_a_truncated_frame():
    good = p.frame_encode(p.HEARTBEAT, "13800138000", 1)
    reader = p.FrameReader()
    assert [f.header.serial for f in reader.feed(good + good[:6])] == [1]
    (rest,) = reader.close()
    assert rest.reason == p.REASON_TRUNCATED


def test_location_item_that_runs_past_the_body_is_a_bad_body():
    with pytest.raises(p.ProtocolError) as err:
        p.location_decode(LOCATION_BODY[:28] + bytes.fromhex("0104000004"))
    assert err.value.reason == p.REASON_BAD_BODY
    with pytest.raises(p.ProtocolError):
        p.location_decode(LOCATION_BODY[:27])
