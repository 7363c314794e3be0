"""A JT/T 808 terminal over a blocking socket: the simulator's vehicles and the tests' client.

No Django here (the simulator may run on another machine); only protocol.py.
"""

import socket

from gridops.jt808 import protocol as p


class TerminalError(Exception):
    pass


class Terminal:
    """One terminal on one TCP connection. Each request waits for the platform's answer to it."""

    def __init__(
        self, host: str, port: int, number: str, *, version: int | None = None, timeout: float = 10.0
    ) -> None:
        self.host, self.port, self.number, self.version, self.timeout = host, port, number, version, timeout
        self.sock: socket.socket | None = None
        self.reader = p.FrameReader()
        self.inbox: list[p.Frame] = []
        self.serial = 0
        self.auth_code: str | None = None

    def connect(self) -> "Terminal":
        self.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.reader = p.FrameReader()
        self.inbox = []
        return self

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def __enter__(self) -> "Terminal":
        return self if self.sock is not None else self.connect()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- raw --

    def next_serial(self) -> int:
        self.serial = (self.serial + 1) & 0xFFFF
        return self.serial

    def send_raw(self, data: bytes) -> None:
        if self.sock is None:
            raise TerminalError("not connected")
        self.sock.sendall(data)

    def frames(
        self, msg_id: int, body: bytes = b"", *, package_size: int = p.MAX_PACKAGE_BODY
    ) -> list[bytes]:
        """The frame(s) of one message from this terminal (split into packages when long)."""
        first = self.serial + 1
        frames = p.message_encode(
            msg_id, self.number, first, body, version=self.version, package_size=package_size
        )
        self.serial = (first + len(frames) - 1) & 0xFFFF
        return frames

    def receive(self) -> p.Frame:
        """The next frame from the platform (rejections of what it sent us are ignored)."""
        while not self.inbox:
            if self.sock is None:
                raise TerminalError("not connected")
            data = self.sock.recv(65536)
            if not data:
                raise TerminalError("the platform closed the connection")
            self.inbox.extend(f for f in self.reader.feed(data) if isinstance(f, p.Frame))
        return self.inbox.pop(0)

    def answer_to(self, serial: int) -> p.Frame:
        """The platform's answer (0x8001 or 0x8100) to our message `serial`; earlier answers (to
        the packages of a split message) are skipped."""
        while True:
            frame = self.receive()
            if frame.header.msg_id in (p.PLATFORM_RESPONSE, p.REGISTER_RESPONSE):
                if int.from_bytes(frame.body[:2], "big") == serial:
                    return frame

    def request(self, msg_id: int, body: bytes = b"", **kw) -> p.Frame:
        frames = self.frames(msg_id, body, **kw)
        self.send_raw(b"".join(frames))
        return self.answer_to(self.serial)

    # -- messages --

    def register(
        self, plate: str = "浙B00000", *, maker: str = "GRIDO", model: str = "SIM-808", province: int = 33
    ) -> tuple[int, str]:
        """(0x8100 result, authentication code)."""
        reg = p.Registration(province, 225, maker, model, self.number[-7:], 1, plate)
        reply = self.request(p.REGISTER, p.register_encode(reg, v2019=self.version is not None))
        _serial, result, code = p.register_response_decode(reply.body)
        if result == p.REGISTER_OK:
            self.auth_code = code
        return result, code

    def authenticate(self, code: str | None = None) -> int:
        code = self.auth_code if code is None else code
        body = p.authenticate_encode(code or "", v2019=self.version is not None, imei="860000000000000")
        return self._result(self.request(p.AUTHENTICATE, body))

    def location(self, loc: p.Location) -> int:
        return self._result(self.request(p.LOCATION, p.location_encode(loc)))

    def batch(self, locs: list[p.Location], *, kind: int = p.BATCH_BLIND_AREA) -> int:
        return self._result(self.request(p.LOCATION_BATCH, p.location_batch_encode(locs, kind=kind)))

    def heartbeat(self) -> int:
        return self._result(self.request(p.HEARTBEAT))

    def logout(self) -> int:
        return self._result(self.request(p.LOGOUT))

    @staticmethod
    def _result(frame: p.Frame) -> int:
        if frame.header.msg_id != p.PLATFORM_RESPONSE:
            raise TerminalError(f"expected 0x8001, got {frame.header.msg_id:#06x}")
        return p.platform_response_decode(frame.body)[2]
