"""Who may listen to which live stream: thin names kept for the websocket consumer and the pages.

The rules are gridops/scopes.py (`stream_allowed`, `stream_event_filter`, `default_stream`): the
county stream is for county-wide users only; a scoped dispatcher or supervisor hears the streams
of their townships and teams, an officer their team's, a grid worker their township's (filtered
to their own reports and cells).
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from gridops import scopes

STREAM_RE = scopes.STREAM_RE


def live_stream_valid(stream: str) -> bool:
    """Is this the syntax of a stream ("county", "township:<code>", "team:<code>")?"""
    return scopes.stream_valid(stream)


def live_stream_allowed(user: AbstractBaseUser | AnonymousUser, stream: str) -> bool:
    """May this user listen to this stream? Unauthenticated users and bad syntax: never."""
    return scopes.stream_allowed(user, stream)


def live_default_stream(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The widest stream this user may listen to (what a console opens by default), or None."""
    return scopes.default_stream(user)
