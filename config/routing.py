"""Websocket routes (the protocol: docs/REALTIME.md)."""

from django.urls import path

from gridops.realtime.consumers import LiveConsumer

websocket_urlpatterns: list = [
    path("ws/live/", LiveConsumer.as_asgi()),
]
