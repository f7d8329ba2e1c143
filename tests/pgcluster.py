"""A throw-away PostgreSQL server for the tests and benchmarks: Debian's ``postgresql`` binaries, a
cluster in a temporary folder, its unix socket in that folder, a free TCP port on 127.0.0.1, stopped
and deleted at the end.

PostgreSQL refuses to run as root, so when we are root (CI, ``./test.sh`` on a fresh machine) the
cluster belongs to the ``postgres`` system user the Debian package creates and its programs run
through ``runuser``. The test process connects as the database superuser over the socket (trust
authentication: the socket lives in a folder only we and that user can open).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg2
from psycopg2 import sql

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "300",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
    "log_min_error_statement": "panic",    # expected errors (e.g. unique violations) are tested behaviour
}
# Tests do not test durability: without fsync, creating and cloning databases stays quick. A benchmark
# passes durable=True to measure what production would see.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class ClusterError(RuntimeError):
    """PostgreSQL could not be found or started; the message says what to install or read."""


def _bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not candidates:
        raise ClusterError("PostgreSQL is not installed: run ./test.sh (it installs Debian's postgresql) "
                           "or apt-get install postgresql")
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, durable: bool = False) -> None:
        self.durable = durable
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="pgtest-"))   # short: unix socket paths are limited
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.superuser = "postgres"
        self._owner: str | None = "postgres" if os.geteuid() == 0 else None
        self.running = False

    # -- running PostgreSQL's programs as the cluster's owner --
    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / program), *args]
        if self._owner:
            cmd = ["runuser", "-u", self._owner, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise ClusterError(f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{log}")
        return result

    def start(self) -> "Cluster":
        if self._owner:
            try:
                owner = pwd.getpwnam(self._owner)
            except KeyError:
                raise ClusterError("running as root, but there is no 'postgres' system user to own the "
                                   "test cluster: install Debian's postgresql package") from None
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", self.superuser, "--auth=trust", "-E", "UTF8",
                  "--no-locale", *([] if self.durable else ["--no-sync"]))
        with open(self.data / "postgresql.auto.conf", "a") as conf:
            conf.write(f"port = {self.port}\nunix_socket_directories = '{self.socket_dir}'\n")
            for key, value in {**SERVER_SETTINGS, **({} if self.durable else FAST_SETTINGS)}.items():
                conf.write(f"{key} = {value}\n")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            finally:
                self.running = False
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases --
    def url(self, dbname: str) -> str:
        # The socket folder as host: no password, no TCP, no clash with other test runs.
        return f"postgresql+psycopg2://{self.superuser}@/{dbname}?host={self.socket_dir}&port={self.port}"

    def _admin(self):
        conn = psycopg2.connect(host=str(self.socket_dir), port=self.port, user=self.superuser, dbname="postgres")
        conn.autocommit = True
        return conn

    def create_database(self, name: str, template: str | None = None) -> str:
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                if template:
                    cur.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template)))
                else:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            conn.close()
        return self.url(name)

    def drop_database(self, name: str) -> None:
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                # FORCE: an app a test left behind (e.g. a "restarted" instance) may still hold connections.
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        finally:
            conn.close()

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
