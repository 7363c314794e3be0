"""/ws/live/ checks the Origin: a page on another site cannot open a console with the user's
cookies (cross-site websocket hijacking). config/asgi.py wraps websockets in
AllowedHostsOriginValidator: the Origin's host must be one of ALLOWED_HOSTS."""

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token


@pytest.fixture(autouse=True)
def _own_channel_layer(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            **settings.CHANNEL_LAYERS["default"],
            "CONFIG": {**settings.CHANNEL_LAYERS["default"]["CONFIG"], "prefix": f"o{uuid.uuid4().hex[:8]}"},
        }
    }


@pytest.fixture
def token(transactional_db, tiny_county) -> str:
    user = User.objects.create_user("dispatcher", password="x")
    user.groups.add(Group.objects.get_or_create(name="dispatcher")[0])
    return Token.objects.create(user=user).key


def _connect(token: str, origin: bytes | None) -> dict:
    from config.asgi import application

    headers = [(b"origin", origin)] if origin is not None else []
    scope = {
        "type": "websocket",
        "path": "/ws/live/",
        "query_string": f"stream=county&token={token}".encode(),
        "headers": headers,
        "subprotocols": [],
    }

    async def run() -> dict:
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "websocket.connect"})
        first = await asyncio.wait_for(communicator.output_queue.get(), 10)
        # Accepted, the client hangs up; refused, its connection ends, and the server tells the
        # consumer so (uvicorn sends websocket.disconnect after a close). Without that the refusing
        # consumer ran until wait() cancelled it, and a cancellation caught inside channels-redis's
        # receive once left the run hanging with no limit.
        await communicator.send_input(
            {"type": "websocket.disconnect", "code": 1000 if first["type"] == "websocket.accept" else 1006}
        )
        # wait() cancels the application if it has not ended within 5 s and then awaits it with no
        # limit: a console that outlived its cancellation hung the serial suite here (fixed in the
        # consumer, tests/gridops/test_consumer_lifetime.py).
        await communicator.wait(5)
        return first

    return async_to_sync(run)()


@pytest.mark.parametrize(
    "origin",
    [
        b"http://evil.example",
        b"https://testserver.evil.example",  # a look-alike host
        b"http://evil.example:80",
        b"null",  # a sandboxed frame or a file:// page
        None,  # no Origin at all
    ],
)
def test_a_foreign_origin_is_refused_even_with_valid_credentials(token, origin):
    assert _connect(token, origin)["type"] == "websocket.close"


def test_our_own_origin_is_accepted(token):
    assert _connect(token, b"http://testserver")["type"] == "websocket.accept"
