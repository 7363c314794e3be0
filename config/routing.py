"""Websocket routes. Empty until live intake lands (`/ws/live/`, see ARCHITECTURE.md)."""

websocket_urlpatterns: list = []
