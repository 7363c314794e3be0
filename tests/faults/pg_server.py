"""A throw-away PostgreSQL cluster for fault tests: its own data directory, its own port.

The shared PostgreSQL on 5432 is used by other engineers and CI, so the fault scenarios stop and
restart a cluster of their own: `initdb` in a temporary directory with the Debian binaries
(/usr/lib/postgresql/15/bin), trust authentication on 127.0.0.1 only, no fsync (nothing here
must survive a power cut; a crash restart still replays the WAL), PostGIS from the system-wide
extension files.

PostgreSQL refuses to run as root. When this process is root the binaries run as the `postgres`
user (`runuser -u postgres --`) in a directory owned by it; when it is an ordinary user they run as
that user. `PgServer.unavailable_reason()` says why neither can work here, for a clear skip.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("GRIDOPS_PG_BIN", "/usr/lib/postgresql/15/bin"))
SUPERUSER = "gridops"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgServer:
    """start() / stop(mode) / restart(mode) / destroy(); `url(dbname)` for Django and psycopg.

    Modes are pg_ctl's: "fast" (sessions are terminated with "terminating connection due to
    administrator command", then a clean shutdown) and "immediate" (the postmaster and every
    backend are killed; the next start replays the WAL, as after a crash).
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.run_as: str | None = "postgres" if os.geteuid() == 0 else None
        self.base = Path(tempfile.mkdtemp(prefix="gridops-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        self.initialised = False

    # --- availability -------------------------------------------------------------------------

    @staticmethod
    def unavailable_reason() -> str | None:
        """None when a throw-away cluster can be made here, else why not (for pytest.skip)."""
        for binary in ("initdb", "pg_ctl", "postgres"):
            if not (PG_BIN / binary).exists():
                return f"{PG_BIN / binary} is missing (Debian package postgresql-15)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no `postgres` user to run initdb as"
            if not shutil.which("runuser"):
                return "running as root and `runuser` is missing (util-linux)"
        return None

    # --- process control ----------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.base)
        if done.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}\n"
                f"{self.log_tail()}"
            )
        return done

    def _options(self) -> str:
        # The socket directory is ours (the default /var/run/postgresql belongs to the shared one).
        return f"-p {self.port} -h 127.0.0.1 -k {self.base} -c fsync=off -c max_connections=200"

    def initdb(self) -> None:
        if self.initialised:
            return
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip
        self.initialised = True

    def start(self) -> None:
        self.initdb()
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            self._options(),
            "start",
        )
        self.wait_ready()

    def stop(self, mode: str = "fast") -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def wait_ready(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url("postgres", scheme="postgresql"), connect_timeout=2) as conn:
                    conn.execute("select 1")
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def destroy(self) -> None:
        """Stop (immediately) and remove the data directory."""
        try:
            if self.initialised and self.is_running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # --- databases ----------------------------------------------------------------------------

    def url(self, dbname: str, scheme: str = "postgis") -> str:
        return f"{scheme}://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, dbname: str) -> str:
        """A fresh database with PostGIS; returns its postgis:// URL (for DATABASE_URL)."""
        import psycopg

        with psycopg.connect(self.url("postgres", scheme="postgresql"), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{dbname}" with (force)')
            conn.execute(f'create database "{dbname}"')
        with psycopg.connect(self.url(dbname, scheme="postgresql"), autocommit=True) as conn:
            conn.execute("create extension if not exists postgis")
        return self.url(dbname)

    def __enter__(self) -> "PgServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()
