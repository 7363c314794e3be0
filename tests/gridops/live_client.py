"""A websocket console for tests, speaking to config.asgi.application in-process.

channels.testing.WebsocketCommunicator cannot be imported here (channels.testing imports daphne,
which we do not install), so this is the same few lines on asgiref's ApplicationCommunicator.
"""

import asyncio
import json
import time
import uuid

from asgiref.testing import ApplicationCommunicator

ORIGIN = (b"origin", b"http://testserver")


def live_path(*, stream: str | None = None, since: int | None = None, token: str | None = None) -> str:
    params = []
    if stream is not None:
        params.append(f"stream={stream}")
    if since is not None:
        params.append(f"since={since}")
    if token is not None:
        params.append(f"token={token}")
    return "/ws/live/" + ("?" + "&".join(params) if params else "")


class LiveClient(ApplicationCommunicator):
    def __init__(self, path: str, *, cookie: str | None = None) -> None:
        from config.asgi import application

        path, _, query = path.partition("?")
        headers = [ORIGIN] + ([(b"cookie", cookie.encode())] if cookie else [])
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": query.encode(),
            "headers": headers,
            "subprotocols": [],
        }
        super().__init__(application, scope)
        self.messages: list[dict] = []  # every message received, in order
        self.closed_with: int | None = None

    async def output(self, timeout: float) -> dict:
        """The application's next output; unlike receive_output, a timeout leaves it running."""
        if self.future.done():
            self.future.result()  # raises what the application raised
        return await asyncio.wait_for(self.output_queue.get(), timeout)

    async def connect(self, timeout: float = 5) -> bool:
        await self.send_input({"type": "websocket.connect"})
        response = await self.output(timeout)
        if response["type"] == "websocket.close":
            self.closed_with = response.get("code", 1000)
            return False
        assert response["type"] == "websocket.accept"
        return True

    async def frame(self, timeout: float = 5) -> list[dict] | None:
        """The next frame (a list of messages), or None if the server closed the socket."""
        response = await self.output(timeout)
        if response["type"] == "websocket.close":
            self.closed_with = response.get("code", 1000)
            return None
        assert response["type"] == "websocket.send", response
        frame = json.loads(response["text"])
        assert isinstance(frame, list)
        self.messages.extend(frame)
        return frame

    async def send_text(self, text: str) -> None:
        await self.send_input({"type": "websocket.receive", "text": text})

    async def send_json(self, data) -> None:
        await self.send_text(json.dumps(data))

    async def until(self, predicate, timeout: float = 10) -> list[dict]:
        """Read frames until predicate(messages so far) holds; returns the messages."""
        deadline = time.monotonic() + timeout
        while not predicate(self.messages):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; got {self.messages[-5:]!r}")
            try:
                if await self.frame(timeout=left) is None:
                    raise AssertionError(f"closed with {self.closed_with}")
            except TimeoutError:
                continue
        return self.messages

    async def drain(self, seconds: float) -> list[dict]:
        """Read whatever arrives during `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                if await self.frame(timeout=left) is None:
                    break
            except TimeoutError:
                break
        return self.messages

    def sequenced(self) -> list[dict]:
        return [m for m in self.messages if m["seq"] is not None]

    def of_type(self, type_: str) -> list[dict]:
        return [m for m in self.messages if m["type"] == type_]

    async def close(self) -> None:
        if not self.future.done():
            await self.send_input({"type": "websocket.disconnect", "code": 1000})
            try:
                await self.wait(2)
            except TimeoutError:
                self.future.cancel()


def own_channel_layer(settings) -> None:
    """A fresh channel layer and key prefix for one test (the `settings` fixture restores it):
    no stale group members from earlier tests."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{**settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]}],
                "prefix": f"t{uuid.uuid4().hex[:8]}",
                "expiry": 30,
            },
        }
    }
