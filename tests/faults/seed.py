"""Build a fault scenario's database: `python -m tests.faults.seed --cells N` with DATABASE_URL
pointing at it. Runs migrations, loads the demo county and demo devices/tokens (bench/intake.py's
`prepare`) and a signed-in browser session for the dispatcher (its session key, the cookie a
browser would send), and prints one JSON line:
{"plan": ..., "tokens": ..., "sessions": {"dispatcher": key}, "devices": [...]}."""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=600)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.intake import prepare

    plan, tokens, devices = prepare(args.cells)
    sessions = {"dispatcher": _session_of(tokens["dispatcher"])}
    print(
        json.dumps(
            {"plan": plan, "tokens": tokens, "sessions": sessions, "devices": devices}, ensure_ascii=False
        )
    )
    return 0


def _session_of(token: str) -> str:
    """A session as django.contrib.auth.login leaves it, for the token's user."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    user = Token.objects.select_related("user").get(key=token).user
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


if __name__ == "__main__":
    sys.exit(main())
