#!/usr/bin/env bash
# Brings a Debian 12 machine (fresh or not) to the point where GridOps runs and its tests pass:
# Debian packages, PostgreSQL + PostGIS, Redis, the Python venv, the npm packages, the database and
# its migrations. Idempotent: every step checks first and does nothing when it is already done, so a
# second run takes a few seconds.
#
# Reuses a PostgreSQL or Redis already listening on the configured ports instead of fighting it.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

DB_NAME=${GRIDOPS_DB_NAME:-gridops}
DB_USER=${GRIDOPS_DB_USER:-gridops}
DB_PASSWORD=${GRIDOPS_DB_PASSWORD:-gridops}
DB_HOST=${GRIDOPS_DB_HOST:-127.0.0.1}
DB_PORT=${GRIDOPS_DB_PORT:-5432}
REDIS_PORT=${GRIDOPS_REDIS_PORT:-6379}

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# --- Debian packages --------------------------------------------------------------------------
# nginx: the production reverse proxy (deploy/nginx.conf), which tests/gridops/test_proxy.py runs
# in front of two replicas with its own prefix and ports (only the binary is needed).
APT_PACKAGES=(postgresql-15-postgis-3 postgresql-15 postgresql-client-15 gdal-bin
  redis-server redis-tools chromium fonts-wqy-zenhei gettext nodejs npm python3-venv python3-dev make
  nginx)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The machine may ship its own node/npm or python outside Debian's packages: those are fine.
filtered=()
for p in "${missing[@]}"; do
  case "$p" in
    nodejs) command -v node >/dev/null || filtered+=("$p") ;;
    npm) command -v npm >/dev/null || filtered+=("$p") ;;
    python3-venv|python3-dev) python3 -c 'import venv, sysconfig; import os; assert os.path.exists(sysconfig.get_paths()["include"] + "/Python.h")' 2>/dev/null || filtered+=("$p") ;;
    *) filtered+=("$p") ;;
  esac
done
pg_was_running=0
pg_isready -q -h "$DB_HOST" -p "$DB_PORT" 2>/dev/null && pg_was_running=1
if [ ${#filtered[@]} -gt 0 ]; then
  say "installing Debian packages: ${filtered[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${filtered[@]}"
  # Where installing starts services, Debian's nginx package starts one on port 80: not ours to run.
  if [[ " ${filtered[*]} " == *" nginx "* ]]; then
    if command -v systemctl >/dev/null && systemctl is-active -q nginx 2>/dev/null; then
      as_root systemctl disable --now nginx || true
    elif [ -x /etc/init.d/nginx ] && /etc/init.d/nginx status >/dev/null 2>&1; then
      as_root /etc/init.d/nginx stop || true
    fi
  fi
  # Installing PostGIS can upgrade the PostgreSQL binaries under a running server; new connections
  # then fail to load plpgsql. Restart the cluster so the server matches its binaries.
  if [ "$pg_was_running" = 1 ] && [ -d /etc/postgresql/15/main ]; then
    say "restarting PostgreSQL 15 after the package upgrade"
    as_root pg_ctlcluster --skip-systemctl-redirect 15 main restart || true
  fi
fi

# --- PostgreSQL -------------------------------------------------------------------------------
if ! pg_isready -q -h "$DB_HOST" -p "$DB_PORT"; then
  if [ ! -d /etc/postgresql/15/main ]; then
    say "creating PostgreSQL cluster 15/main"
    as_root pg_createcluster 15 main
  fi
  say "starting PostgreSQL 15"
  as_root pg_ctlcluster --skip-systemctl-redirect 15 main start
  for _ in $(seq 1 30); do pg_isready -q -h "$DB_HOST" -p "$DB_PORT" && break; sleep 0.5; done
fi
pg_isready -q -h "$DB_HOST" -p "$DB_PORT" || { echo "PostgreSQL is not answering on $DB_HOST:$DB_PORT" >&2; exit 1; }

# Administrative SQL runs as the postgres superuser over the local socket (peer auth).
psql_admin() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt -p "$DB_PORT" "$@"
  else sudo -u postgres psql -v ON_ERROR_STOP=1 -qAt -p "$DB_PORT" "$@"; fi
}
# The application role is a superuser in development and tests: the test runner creates databases
# with the postgis extension, which only a superuser may create.
if [ "$(psql_admin -c "select 1 from pg_roles where rolname = '$DB_USER'")" != 1 ]; then
  say "creating database role $DB_USER"
  psql_admin -c "create role \"$DB_USER\" login superuser password '$DB_PASSWORD'"
fi
if [ "$(psql_admin -c "select 1 from pg_database where datname = '$DB_NAME'")" != 1 ]; then
  say "creating database $DB_NAME"
  psql_admin -c "create database \"$DB_NAME\" owner \"$DB_USER\" encoding 'UTF8' template template0"
fi
psql_admin -d "$DB_NAME" -c "set client_min_messages = warning; create extension if not exists postgis"

# --- Redis ------------------------------------------------------------------------------------
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  say "starting Redis on port $REDIS_PORT"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/gridops.log
  for _ in $(seq 1 20); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.25; done
fi

# --- Python -----------------------------------------------------------------------------------
stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
req_stamp=$(stamp requirements.txt)
if [ "$(cat .venv/.requirements-stamp 2>/dev/null)" != "$req_stamp" ]; then
  say "installing Python packages from requirements.txt"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  echo "$req_stamp" > .venv/.requirements-stamp
fi

# --- npm --------------------------------------------------------------------------------------
npm_stamp=$(stamp package.json package-lock.json)
if [ "$(cat node_modules/.gridops-stamp 2>/dev/null)" != "$npm_stamp" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_stamp" > node_modules/.gridops-stamp
fi

# --- Translations -----------------------------------------------------------------------------
if [ -d locale ]; then
  .venv/bin/python manage.py compilemessages -v 0 --ignore .venv --ignore node_modules
fi

# --- Database schema --------------------------------------------------------------------------
say "migrating"
.venv/bin/python manage.py migrate --noinput -v 0
say "ready"
