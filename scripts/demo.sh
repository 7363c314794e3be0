#!/usr/bin/env bash
# `make demo`: serve the platform and, beside it, the live simulator (SIMULATE=0 turns it off).
# The simulator waits for the server on its own (retries with backoff) and is stopped when the
# server stops, however it stops (Ctrl-C, an error, a kill).
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
SIMULATE=${SIMULATE:-1}
SIM_ARGS=${SIM_ARGS:-}
# One worker process per core: request handling is CPU-bound Python (GIL); consoles may connect
# to any worker (the channel layer carries the notices between processes).
WORKERS=${WORKERS:-2}
# The simulator talks to the server over loopback even when it listens on every interface.
SIM_HOST=$HOST
[ "$SIM_HOST" = "0.0.0.0" ] && SIM_HOST=127.0.0.1

sim_pid=
stop_sim() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; wait 2>/dev/null; }
trap stop_sim EXIT
trap 'exit 130' INT TERM

if [ "$SIMULATE" != 0 ]; then
  # shellcheck disable=SC2086
  "$PY" manage.py gridops_simulate --base-url "http://$SIM_HOST:$PORT" $SIM_ARGS &
  sim_pid=$!
  echo "[demo] simulator started (pid $sim_pid); SIMULATE=0 make demo runs without it"
fi
# gridops_serve: the uvicorn workers (one SO_REUSEPORT socket each, so connections are spread
# across them) and the outbox relay process, woken by PostgreSQL NOTIFY (docs/REALTIME.md).
"$PY" manage.py gridops_serve --host "$HOST" --port "$PORT" --workers "$WORKERS"
