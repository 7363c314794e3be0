#!/usr/bin/env bash
# `make demo`: serve the platform and, beside it, the live simulator (SIMULATE=0 turns it off) and a
# Celery worker with its embedded beat (time limits, calendar check; WORKER=0 turns it off).
# The simulator waits for the server on its own (retries with backoff); both are stopped when the
# server stops, however it stops (Ctrl-C, an error, a kill).
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
SIMULATE=${SIMULATE:-1}
SIM_ARGS=${SIM_ARGS:-}
WORKER=${WORKER:-1}
# The JT/T 808 gateway (vehicle terminals over TCP; JT808=0 turns it off) and how many demo vehicles
# the simulator drives through it instead of HTTP.
JT808=${JT808:-1}
JT808_PORT=${JT808_PORT:-6808}
JT808_VEHICLES=${JT808_VEHICLES:-6}
# One worker process per core: request handling is CPU-bound Python (GIL); consoles may connect
# to any worker (the channel layer carries the notices between processes).
WORKERS=${WORKERS:-2}
# The simulator talks to the server over loopback even when it listens on every interface.
SIM_HOST=$HOST
[ "$SIM_HOST" = "0.0.0.0" ] && SIM_HOST=127.0.0.1

sim_pid=
worker_pid=
jt808_pid=
serve_pid=
stop_children() {
  # SIGTERM is Celery's warm shutdown: the running task finishes (acks late), then it exits.
  for pid in $sim_pid $jt808_pid $worker_pid $serve_pid; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
}
trap stop_children EXIT
trap 'exit 130' INT TERM

if [ "$JT808" != 0 ]; then
  # Like the web workers, it leaves numbering events to the relay process gridops_serve starts.
  GRIDOPS_OUTBOX_RELAY=process "$PY" manage.py gridops_jt808 --host "$HOST" --port "$JT808_PORT" &
  jt808_pid=$!
  echo "[demo] JT/T 808 gateway on $HOST:$JT808_PORT (pid $jt808_pid); JT808=0 make demo runs without it"
  SIM_ARGS="--jt808-vehicles $JT808_VEHICLES --jt808-address $SIM_HOST:$JT808_PORT $SIM_ARGS"
fi
if [ "$SIMULATE" != 0 ]; then
  # shellcheck disable=SC2086
  "$PY" manage.py gridops_simulate --base-url "http://$SIM_HOST:$PORT" $SIM_ARGS &
  sim_pid=$!
  echo "[demo] simulator started (pid $sim_pid); SIMULATE=0 make demo runs without it"
fi
if [ "$WORKER" != 0 ]; then
  # One process: the worker (one task at a time) and beat inside it, its schedule file under var/.
  # Production runs them as two services (docker-compose.yml: worker, beat).
  mkdir -p var
  "$PY" -m celery -A config worker -B --concurrency 1 --loglevel INFO \
    --schedule var/celerybeat-schedule --hostname "demo@%h" &
  worker_pid=$!
  echo "[demo] Celery worker + beat started (pid $worker_pid); WORKER=0 make demo runs without it"
fi
# gridops_serve: the uvicorn workers (one SO_REUSEPORT socket each, so connections are spread
# across them) and the outbox relay process, woken by PostgreSQL NOTIFY (docs/REALTIME.md).
# In the background and waited for, so that a TERM to this script runs the trap at once (bash
# defers traps while a foreground command runs).
"$PY" manage.py gridops_serve --host "$HOST" --port "$PORT" --workers "$WORKERS" &
serve_pid=$!
wait "$serve_pid"
