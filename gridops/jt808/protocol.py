"""JT/T 808 on the wire: pure functions and small classes, no Django, no I/O.

A message travels as one frame:

    0x7e │ header │ body │ check code │ 0x7e
          └──────── escaped ─────────┘        0x7e → 0x7d 0x02, 0x7d → 0x7d 0x01
    check code = XOR of every byte of header and body (before escaping)

Header (all integers big-endian; WORD = 2 bytes, DWORD = 4, BCD[n] = n bytes of two digits):

    2013 (JT/T 808-2013, also 2011)        2019 (JT/T 808-2019, version flag set)
    WORD   message id                      WORD   message id
    WORD   body properties                 WORD   body properties (bit 14 = 1)
    BCD[6] terminal number (12 digits)     BYTE   protocol version (1 for 2019)
    WORD   serial number                   BCD[10] terminal number (20 digits)
                                           WORD   serial number
    [WORD total packages, WORD package number (from 1)]  only when the sub-package bit is set

    body properties: bits 0–9 body length (≤ 1023), 10–12 encryption (0 = none, bit 10 = RSA),
                     bit 13 sub-package, bit 14 version flag (2019), bit 15 reserved

`FrameReader` turns TCP reads (any chunking) into frames and rejections; `Reassembler` joins the
packages of a split message. The body codecs cover what a positioning terminal sends the platform
(0x0002 heartbeat, 0x0003 logout, 0x0100 registration, 0x0102 authentication, 0x0200 location,
0x0704 batch location, 0x0001 terminal response) and what the platform answers (0x8001, 0x8100);
each has an encoder too, for tests, the simulator and the benchmark.
"""

import struct
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

FLAG = 0x7E
ESCAPE = 0x7D
CHINA_TZ = timezone(timedelta(hours=8), "UTC+8")  # BCD times are Beijing time (GMT+8)

# Message ids
TERMINAL_RESPONSE = 0x0001
HEARTBEAT = 0x0002
LOGOUT = 0x0003
REGISTER = 0x0100
AUTHENTICATE = 0x0102
LOCATION = 0x0200
LOCATION_BATCH = 0x0704
PLATFORM_RESPONSE = 0x8001
REGISTER_RESPONSE = 0x8100

# 0x8001 results
RESULT_OK = 0
RESULT_FAILURE = 1
RESULT_MESSAGE_ERROR = 2
RESULT_UNSUPPORTED = 3

# 0x8100 results
REGISTER_OK = 0
REGISTER_VEHICLE_TAKEN = 1
REGISTER_NO_VEHICLE = 2
REGISTER_TERMINAL_TAKEN = 3
REGISTER_NO_TERMINAL = 4

MAX_PACKAGE_BODY = 0x3FF  # the 10-bit length field
_PROPS_SPLIT = 1 << 13
_PROPS_2019 = 1 << 14
_HEADER_2013 = 12
_HEADER_2019 = 17
# Largest escaped frame content a well-formed message can have: every byte of the longest header,
# a full package body and the check code doubled by escaping. Anything longer is not a frame.
MAX_FRAME_BYTES = 2 * (_HEADER_2019 + 4 + MAX_PACKAGE_BODY + 1)

# Status bits of a location report
STATUS_ACC = 1 << 0
STATUS_POSITIONED = 1 << 1
STATUS_SOUTH = 1 << 2
STATUS_WEST = 1 << 3
# Alarm bits (a few the platform names; all 32 are kept in Location.alarm)
ALARM_EMERGENCY = 1 << 0
ALARM_OVERSPEED = 1 << 1
ALARM_GNSS_FAULT = 1 << 4
# Additional location items
EXTRA_MILEAGE = 0x01  # DWORD, 1/10 km
EXTRA_FUEL = 0x02  # WORD, 1/10 L
EXTRA_RECORDER_SPEED = 0x03  # WORD, 1/10 km/h
EXTRA_SIGNAL = 0x30  # BYTE, mobile network signal strength
EXTRA_SATELLITES = 0x31  # BYTE, GNSS satellites in view

# Rejection reasons (stable: counted by the gateway, named in its logs and docs/JT808.md)
REASON_GARBAGE = "garbage"  # bytes before the first 0x7e, or a long run without any
REASON_OVERSIZED = "oversized"  # a frame, or a reassembled body, longer than allowed
REASON_BAD_ESCAPE = "bad_escape"  # 0x7d followed by something other than 0x01 / 0x02
REASON_TRUNCATED = "truncated"  # shorter than its header or its declared body length
REASON_BAD_CHECK_CODE = "bad_check_code"
REASON_LENGTH_MISMATCH = "length_mismatch"  # body longer than the length in its header
REASON_BAD_BCD = "bad_bcd"  # a terminal number that is not decimal digits
REASON_BAD_PACKAGE = "bad_package"  # package number 0 or beyond the total
REASON_INCOMPLETE = "incomplete"  # a split message whose packages did not all arrive in time
REASON_BAD_BODY = "bad_body"  # the body does not decode as its message id says


class ProtocolError(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


# --- Bytes ----------------------------------------------------------------------------------------


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    if b"\x7d" not in data:
        return data
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == ESCAPE:
            nxt = data[i + 1] if i + 1 < n else None
            if nxt == 0x01:
                out.append(0x7D)
            elif nxt == 0x02:
                out.append(0x7E)
            else:
                raise ProtocolError(REASON_BAD_ESCAPE, f"0x7d followed by {nxt!r} at byte {i}")
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def check_code(data: bytes) -> int:
    # XOR of all bytes, eight at a time (a 1 kB body costs ~10 µs instead of ~60 µs byte by byte).
    n = len(data) - len(data) % 8
    x = 0
    for (word,) in struct.iter_unpack(">Q", data[:n]):
        x ^= word
    x = x ^ (x >> 32)
    x = x ^ (x >> 16)
    x = (x ^ (x >> 8)) & 0xFF
    for b in data[n:]:
        x ^= b
    return x


def bcd_encode(digits: str, length: int) -> bytes:
    """`digits` left-padded with zeros to 2 × `length` digits, two per byte."""
    if not digits.isdigit() or len(digits) > 2 * length:
        raise ValueError(f"{digits!r} is not at most {2 * length} decimal digits")
    return bytes.fromhex(digits.zfill(2 * length))


def bcd_decode(data: bytes) -> str:
    text = data.hex()
    if not text.isdigit():
        raise ProtocolError(REASON_BAD_BCD, text)
    return text


def bcd_time_encode(at: datetime) -> bytes:
    """YY MM DD hh mm ss in Beijing time (GMT+8)."""
    return bcd_encode(at.astimezone(CHINA_TZ).strftime("%y%m%d%H%M%S"), 6)


def bcd_time_decode(data: bytes) -> datetime:
    text = data.hex()
    if len(text) != 12 or not text.isdigit():
        raise ProtocolError(REASON_BAD_BODY, f"time {text!r} is not BCD")
    try:
        return datetime(
            2000 + int(text[0:2]),
            int(text[2:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            tzinfo=CHINA_TZ,
        )
    except ValueError:
        raise ProtocolError(REASON_BAD_BODY, f"time {text!r} is not a date") from None


def _text(raw: bytes) -> str:
    """A fixed-width or length-prefixed STRING field: GBK, padded with NULs or spaces."""
    return raw.rstrip(b"\x00 ").decode("gbk", errors="replace")


def _fixed(text: str, length: int) -> bytes:
    return text.encode("gbk")[:length].ljust(length, b"\x00")


# --- Header and frame ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Header:
    msg_id: int
    terminal: str  # the BCD digits as sent: 12 (2013) or 20 (2019)
    serial: int
    version: int | None = None  # None: 2013 header; otherwise the 2019 protocol version byte
    body_length: int = 0
    encryption: int = 0
    packet_total: int = 0  # 0: not split
    packet_index: int = 0  # 1-based when split

    @property
    def is_2019(self) -> bool:
        return self.version is not None

    @property
    def is_split(self) -> bool:
        return self.packet_total > 0


@dataclass(frozen=True, slots=True)
class Frame:
    header: Header
    body: bytes
    size: int = 0  # bytes on the wire, flags included


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str
    size: int  # bytes discarded
    head: bytes = b""  # the first bytes, for the log
    terminal: str | None = None  # when the header could be read

    def describe(self) -> str:
        return f"{self.reason} ({self.detail}; {self.size} bytes: {self.head.hex(' ')})"


def header_encode(header: Header) -> bytes:
    props = (header.body_length & MAX_PACKAGE_BODY) | ((header.encryption & 0x7) << 10)
    if header.is_split:
        props |= _PROPS_SPLIT
    if header.is_2019:
        props |= _PROPS_2019
        out = struct.pack(">HHB", header.msg_id, props, header.version) + bcd_encode(header.terminal, 10)
    else:
        out = struct.pack(">HH", header.msg_id, props) + bcd_encode(header.terminal, 6)
    out += struct.pack(">H", header.serial & 0xFFFF)
    if header.is_split:
        out += struct.pack(">HH", header.packet_total, header.packet_index)
    return out


def frame_encode(
    msg_id: int,
    terminal: str,
    serial: int,
    body: bytes = b"",
    *,
    version: int | None = None,
    packet: tuple[int, int] | None = None,
    encryption: int = 0,
) -> bytes:
    """One frame, flags included. `version` None builds a 2013 header, 1 a 2019 header;
    `packet` = (total, number) marks a package of a split message."""
    if len(body) > MAX_PACKAGE_BODY:
        raise ValueError(f"a body of {len(body)} bytes must be split (see message_encode)")
    total, index = packet or (0, 0)
    header = Header(msg_id, terminal, serial, version, len(body), encryption, total, index)
    data = header_encode(header) + body
    return b"\x7e" + escape(data + bytes([check_code(data)])) + b"\x7e"


def message_encode(
    msg_id: int,
    terminal: str,
    first_serial: int,
    body: bytes,
    *,
    version: int | None = None,
    package_size: int = MAX_PACKAGE_BODY,
) -> list[bytes]:
    """A message as one frame, or as consecutive packages (serials first_serial, +1, …) when its
    body is longer than `package_size`."""
    if len(body) <= package_size:
        return [frame_encode(msg_id, terminal, first_serial, body, version=version)]
    parts = [body[i : i + package_size] for i in range(0, len(body), package_size)]
    return [
        frame_encode(msg_id, terminal, first_serial + k, part, version=version, packet=(len(parts), k + 1))
        for k, part in enumerate(parts)
    ]


def frame_decode(content: bytes, *, size: int | None = None) -> Frame:
    """The content between two flags (still escaped) → Frame, or ProtocolError naming the reason."""
    data = unescape(content)
    if len(data) < _HEADER_2013 + 1:
        raise ProtocolError(REASON_TRUNCATED, f"{len(data)} bytes, shorter than a header")
    if check_code(data[:-1]) != data[-1]:
        raise ProtocolError(
            REASON_BAD_CHECK_CODE, f"check code {data[-1]:#04x}, computed {check_code(data[:-1]):#04x}"
        )
    msg_id, props = struct.unpack_from(">HH", data)
    is_2019 = bool(props & _PROPS_2019)
    split = bool(props & _PROPS_SPLIT)
    hlen = (_HEADER_2019 if is_2019 else _HEADER_2013) + (4 if split else 0)
    if len(data) - 1 < hlen:
        raise ProtocolError(REASON_TRUNCATED, f"{len(data)} bytes, shorter than its {hlen}-byte header")
    if is_2019:
        version = data[4]
        terminal = bcd_decode(data[5:15])
        (serial,) = struct.unpack_from(">H", data, 15)
    else:
        version = None
        terminal = bcd_decode(data[4:10])
        (serial,) = struct.unpack_from(">H", data, 10)
    total = index = 0
    if split:
        total, index = struct.unpack_from(">HH", data, hlen - 4)
        if total == 0 or not 1 <= index <= total:
            raise ProtocolError(REASON_BAD_PACKAGE, f"package {index} of {total}")
    body = data[hlen:-1]
    declared = props & MAX_PACKAGE_BODY
    if len(body) < declared:
        raise ProtocolError(REASON_TRUNCATED, f"body of {len(body)} bytes, header says {declared}")
    if len(body) > declared:
        raise ProtocolError(REASON_LENGTH_MISMATCH, f"body of {len(body)} bytes, header says {declared}")
    header = Header(msg_id, terminal, serial, version, declared, (props >> 10) & 0x7, total, index)
    return Frame(header, body, size if size is not None else len(content) + 2)


class FrameReader:
    """Frames and rejections out of a byte stream, whatever the TCP chunking.

    Every run of bytes between two flags is a frame candidate (empty runs, from frames sharing a
    flag or doubled flags, are skipped); what does not decode is a Rejection with its reason, and
    the next flag starts afresh — so garbage, a truncated frame or a bad check code never costs the
    good frames around it. Bytes before the first flag are garbage. A run longer than `max_frame`
    without a flag is rejected once as oversized and skipped up to the next flag, so a peer cannot
    make the buffer grow without bound.
    """

    def __init__(self, *, max_frame: int = MAX_FRAME_BYTES) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._started = False  # seen a first flag
        self._skipping = False  # inside an oversized run, already reported

    def feed(self, data: bytes) -> list[Frame | Rejection]:
        out: list[Frame | Rejection] = []
        buf = self._buf
        buf += data
        start = 0
        while True:
            end = buf.find(FLAG, start)
            if end < 0:
                break
            run = bytes(buf[start:end])
            start = end + 1
            if self._skipping:
                self._skipping = False
                continue
            if not self._started:
                self._started = True
                if run:
                    out.append(Rejection(REASON_GARBAGE, "bytes before the first 0x7e", len(run), run[:16]))
                continue
            if len(run) > self.max_frame:
                detail = f"{len(run)} bytes between two 0x7e, at most {self.max_frame}"
                out.append(Rejection(REASON_OVERSIZED, detail, len(run), run[:16]))
            elif run:
                out.append(self._decode(run))
        del buf[:start]
        if len(buf) > self.max_frame:
            if not self._skipping:
                reason = REASON_OVERSIZED if self._started else REASON_GARBAGE
                detail = f"more than {self.max_frame} bytes without a 0x7e"
                out.append(Rejection(reason, detail, len(buf), bytes(buf[:16])))
                self._skipping = True
                self._started = True  # the next flag ends the skipped run
            buf.clear()
        return out

    def close(self) -> list[Rejection]:
        """The connection ended: an unfinished frame is truncated."""
        rest = bytes(self._buf)
        self._buf.clear()
        if not rest or self._skipping:
            return []
        reason = REASON_TRUNCATED if self._started else REASON_GARBAGE
        return [Rejection(reason, "connection closed inside a frame", len(rest), rest[:16])]

    @staticmethod
    def _decode(run: bytes) -> Frame | Rejection:
        try:
            return frame_decode(run)
        except ProtocolError as exc:
            return Rejection(exc.reason, exc.detail, len(run) + 2, run[:16], _terminal_of(run))


def _terminal_of(run: bytes) -> str | None:
    """The terminal number of a rejected frame, when its header is readable (for the log)."""
    try:
        data = unescape(run)
        is_2019 = bool(struct.unpack_from(">H", data, 2)[0] & _PROPS_2019)
        return data[5:15].hex() if is_2019 else data[4:10].hex()
    except (ProtocolError, struct.error):
        return None


@dataclass
class _Partial:
    started: float
    parts: dict[int, bytes] = field(default_factory=dict)
    size: int = 0


class Reassembler:
    """Joins the packages of split messages (per connection).

    Packages of one message share the terminal, message id and total, and have consecutive serials,
    so (terminal, id, total, serial − number + 1) names the message. A message whose packages do
    not all arrive within `timeout` seconds is dropped (reported by `expire`); one whose body
    exceeds `max_body` is refused as oversized; at most `max_pending` messages are pending at once.
    """

    def __init__(self, *, max_body: int, timeout: float = 60.0, max_pending: int = 16, clock=time.monotonic):
        self.max_body, self.timeout, self.max_pending, self.clock = max_body, timeout, max_pending, clock
        self._pending: dict[tuple, _Partial] = {}

    def add(self, frame: Frame) -> Frame | Rejection | None:
        """The whole message once its last package is in (header of the completing package, not
        split any more), a Rejection, or None while packages are missing."""
        h = frame.header
        if not h.is_split:
            return frame
        key = (h.terminal, h.msg_id, h.packet_total, (h.serial - h.packet_index + 1) & 0xFFFF)
        partial = self._pending.get(key)
        if partial is None:
            if len(self._pending) >= self.max_pending:
                oldest = min(self._pending, key=lambda k: self._pending[k].started)
                del self._pending[oldest]
            partial = self._pending[key] = _Partial(self.clock())
        partial.size += len(frame.body) - len(partial.parts.get(h.packet_index, b""))
        partial.parts[h.packet_index] = frame.body
        if partial.size > self.max_body:
            del self._pending[key]
            return Rejection(
                REASON_OVERSIZED,
                f"split message {h.msg_id:#06x} over {self.max_body} bytes",
                partial.size,
                terminal=h.terminal,
            )
        if len(partial.parts) < h.packet_total:
            return None
        del self._pending[key]
        body = b"".join(partial.parts[i] for i in range(1, h.packet_total + 1))
        header = Header(h.msg_id, h.terminal, h.serial, h.version, len(body), h.encryption)
        return Frame(header, body, partial.size)

    def expire(self) -> list[Rejection]:
        now = self.clock()
        out = []
        for key, partial in list(self._pending.items()):
            if now - partial.started > self.timeout:
                del self._pending[key]
                terminal, msg_id, total, _ = key
                out.append(
                    Rejection(
                        REASON_INCOMPLETE,
                        f"{len(partial.parts)} of {total} packages of {msg_id:#06x} in {self.timeout:.0f} s",
                        partial.size,
                        terminal=terminal,
                    )
                )
        return out


# --- Bodies ---------------------------------------------------------------------------------------


def platform_response_encode(reply_serial: int, reply_id: int, result: int) -> bytes:
    return struct.pack(">HHB", reply_serial & 0xFFFF, reply_id, result)


def platform_response_decode(body: bytes) -> tuple[int, int, int]:
    """(reply serial, reply message id, result)."""
    if len(body) != 5:
        raise ProtocolError(REASON_BAD_BODY, f"0x8001 body of {len(body)} bytes")
    return struct.unpack(">HHB", body)


terminal_response_encode = platform_response_encode  # 0x0001 has the same layout
terminal_response_decode = platform_response_decode


def register_response_encode(reply_serial: int, result: int, auth_code: str = "") -> bytes:
    body = struct.pack(">HB", reply_serial & 0xFFFF, result)
    return body + auth_code.encode("gbk") if result == REGISTER_OK else body


def register_response_decode(body: bytes) -> tuple[int, int, str]:
    """(reply serial, result, authentication code)."""
    if len(body) < 3:
        raise ProtocolError(REASON_BAD_BODY, f"0x8100 body of {len(body)} bytes")
    serial, result = struct.unpack_from(">HB", body)
    return serial, result, body[3:].decode("gbk", errors="replace")


@dataclass(frozen=True, slots=True)
class Registration:
    province: int
    city: int
    maker: str
    model: str
    terminal_id: str
    plate_colour: int
    plate: str


# (maker, model, terminal id) widths: 2011 and 2013 headers look alike, the body length tells.
_REGISTER_LAYOUTS = {"2019": (11, 30, 30), "2013": (5, 20, 7), "2011": (5, 8, 7)}


def register_encode(reg: Registration, *, v2019: bool = False) -> bytes:
    maker, model, tid = _REGISTER_LAYOUTS["2019" if v2019 else "2013"]
    return (
        struct.pack(">HH", reg.province, reg.city)
        + _fixed(reg.maker, maker)
        + _fixed(reg.model, model)
        + _fixed(reg.terminal_id, tid)
        + bytes([reg.plate_colour])
        + reg.plate.encode("gbk")
    )


def register_decode(body: bytes, *, v2019: bool = False) -> Registration:
    if v2019:
        layout = _REGISTER_LAYOUTS["2019"]
    elif len(body) >= 4 + sum(_REGISTER_LAYOUTS["2013"]) + 1:
        layout = _REGISTER_LAYOUTS["2013"]
    else:
        layout = _REGISTER_LAYOUTS["2011"]
    maker, model, tid = layout
    fixed = 4 + maker + model + tid + 1
    if len(body) < fixed:
        raise ProtocolError(REASON_BAD_BODY, f"0x0100 body of {len(body)} bytes, at least {fixed} expected")
    province, city = struct.unpack_from(">HH", body)
    at = 4
    fields = []
    for width in layout:
        fields.append(_text(body[at : at + width]))
        at += width
    return Registration(province, city, *fields, body[at], _text(body[at + 1 :]))


def authenticate_encode(code: str, *, v2019: bool = False, imei: str = "", software: str = "") -> bytes:
    raw = code.encode("gbk")
    if not v2019:
        return raw
    return bytes([len(raw)]) + raw + _fixed(imei, 15) + _fixed(software, 20)


def authenticate_decode(body: bytes, *, v2019: bool = False) -> str:
    if not v2019:
        return _text(body)
    if not body or len(body) < 1 + body[0]:
        raise ProtocolError(REASON_BAD_BODY, "0x0102 authentication code longer than the body")
    return body[1 : 1 + body[0]].decode("gbk", errors="replace")


@dataclass(frozen=True, slots=True)
class Location:
    alarm: int
    status: int
    lat: float  # degrees, south negative
    lon: float  # degrees, west negative
    altitude: int  # metres
    speed: float  # km/h
    direction: int  # degrees clockwise from north
    at: datetime  # aware, Beijing time
    extras: dict[int, bytes] = field(default_factory=dict)

    @property
    def positioned(self) -> bool:
        return bool(self.status & STATUS_POSITIONED)

    @property
    def mileage_km(self) -> float | None:
        raw = self.extras.get(EXTRA_MILEAGE)
        return int.from_bytes(raw, "big") / 10 if raw is not None and len(raw) == 4 else None

    @property
    def satellites(self) -> int | None:
        raw = self.extras.get(EXTRA_SATELLITES)
        return raw[0] if raw else None


_LOCATION = struct.Struct(">IIIIHHH6s")


def location_encode(loc: Location) -> bytes:
    status = loc.status & ~(STATUS_SOUTH | STATUS_WEST)
    status |= STATUS_SOUTH if loc.lat < 0 else 0
    status |= STATUS_WEST if loc.lon < 0 else 0
    body = _LOCATION.pack(
        loc.alarm,
        status,
        round(abs(loc.lat) * 1_000_000),
        round(abs(loc.lon) * 1_000_000),
        loc.altitude,
        round(loc.speed * 10),
        loc.direction,
        bcd_time_encode(loc.at),
    )
    for item_id, value in loc.extras.items():
        body += bytes([item_id, len(value)]) + value
    return body


def location_decode(body: bytes) -> Location:
    if len(body) < _LOCATION.size:
        raise ProtocolError(REASON_BAD_BODY, f"0x0200 body of {len(body)} bytes, at least 28 expected")
    alarm, status, lat, lon, altitude, speed, direction, when = _LOCATION.unpack_from(body)
    extras: dict[int, bytes] = {}
    at, n = _LOCATION.size, len(body)
    while at < n:
        if at + 2 > n or at + 2 + body[at + 1] > n:
            raise ProtocolError(REASON_BAD_BODY, f"additional item at byte {at} runs past the body")
        length = body[at + 1]
        extras[body[at]] = body[at + 2 : at + 2 + length]
        at += 2 + length
    return Location(
        alarm=alarm,
        status=status,
        lat=-lat / 1e6 if status & STATUS_SOUTH else lat / 1e6,
        lon=-lon / 1e6 if status & STATUS_WEST else lon / 1e6,
        altitude=altitude if altitude < 0x8000 else altitude - 0x10000,  # some terminals sign it
        speed=speed / 10,
        direction=direction,
        at=bcd_time_decode(when),
        extras=extras,
    )


BATCH_NORMAL = 0
BATCH_BLIND_AREA = 1  # 盲区补报: fixes stored while the terminal had no coverage


def location_batch_encode(locations: list[Location], *, kind: int = BATCH_BLIND_AREA) -> bytes:
    body = struct.pack(">HB", len(locations), kind)
    for loc in locations:
        item = location_encode(loc)
        body += struct.pack(">H", len(item)) + item
    return body


def location_batch_decode(body: bytes) -> tuple[int, list[Location | ProtocolError]]:
    """(kind, items): an item that does not decode is a ProtocolError in its place, so the
    good fixes of a batch are kept; a batch whose item lengths do not add up is refused whole."""
    if len(body) < 3:
        raise ProtocolError(REASON_BAD_BODY, f"0x0704 body of {len(body)} bytes")
    count, kind = struct.unpack_from(">HB", body)
    items: list[Location | ProtocolError] = []
    at = 3
    for k in range(count):
        if at + 2 > len(body):
            raise ProtocolError(REASON_BAD_BODY, f"0x0704 says {count} items, the body ends after {k}")
        (length,) = struct.unpack_from(">H", body, at)
        at += 2
        if at + length > len(body):
            raise ProtocolError(REASON_BAD_BODY, f"0x0704 item {k} runs past the body")
        try:
            items.append(location_decode(body[at : at + length]))
        except ProtocolError as exc:
            items.append(exc)
        at += length
    if at != len(body):
        raise ProtocolError(REASON_BAD_BODY, f"0x0704 has {len(body) - at} bytes after its {count} items")
    return kind, items
