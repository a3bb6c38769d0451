"""A throwaway PostgreSQL cluster for the migration tests, on pytest-postgresql's executor.

pytest-postgresql runs `pg_ctl` as the current user, and `initdb` refuses to run as root (CI runs
`.ci/run` as root). As root, every `pg_ctl` call goes through `runuser -u postgres` and the
cluster lives in a temporary folder that user owns. The cluster uses password (SCRAM)
authentication like a hosted database, listens on a free loopback port and is removed afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import port_for
from pytest_postgresql.executors import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

USER, PASSWORD = "postgres", "migrations-test-password"
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c listen_addresses=127.0.0.1"


def find_pg_ctl() -> str | None:
    """Debian keeps the server binaries out of PATH, in /usr/lib/postgresql/<major>/bin."""
    if found := shutil.which("pg_ctl"):
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return candidates[-1] if candidates else None


class ClusterExecutor(PostgreSQLExecutor):
    """pytest-postgresql's executor, with an initdb that also works when the cluster's files
    belong to another user (the password file must be readable by that user)."""

    owner: pwd.struct_passwd | None = None

    def init_directory(self) -> None:
        if self._directory_initialised:
            return
        self.clean_directory()
        password_file = Path(self.datadir).parent / "password"
        password_file.write_text(self.password or "")
        if self.owner:
            os.chown(password_file, self.owner.pw_uid, self.owner.pw_gid)
        try:
            self._run_initdb(self._build_initdb_command(
                [f"--username={self.user}", "--auth=scram-sha-256", f"--pwfile={password_file}", "--no-sync"]))
        finally:
            password_file.unlink()
        self._directory_initialised = True


@dataclass
class Cluster:
    host: str
    port: int
    executor: ClusterExecutor

    def url(self, database: str, user: str = USER, password: str = PASSWORD) -> str:
        return f"postgresql://{user}:{password}@{self.host}:{self.port}/{database}"

    @contextlib.contextmanager
    def database(self, prefix: str = "t") -> Iterator[str]:
        """A new empty database for one test; dropped (connections terminated) afterwards."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        janitor = DatabaseJanitor(user=USER, password=PASSWORD, host=self.host, port=self.port, dbname=name)
        janitor.init()
        try:
            yield self.url(name)
        finally:
            janitor.drop()


@contextlib.contextmanager
def cluster(pg_ctl: str) -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="migrations-pg-"))
    owner = None
    executable = pg_ctl
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")  # Debian's postgresql package creates this user
        except KeyError:
            raise RuntimeError("initdb refuses root and there is no `postgres` user to run it: install Debian's "
                               "postgresql package (it creates the user) or run the tests as another user") from None
        os.chown(base, owner.pw_uid, owner.pw_gid)
        executable = str(base / "pg_ctl")
        Path(executable).write_text(f'#!/bin/sh\nexec runuser -u postgres -- "{pg_ctl}" "$@"\n')
        os.chmod(executable, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    port = port_for.select_random()
    executor = ClusterExecutor(
        executable=executable, host="127.0.0.1", port=port, datadir=str(base / "data"), unixsocketdir=str(base),
        logfile=str(base / "postgresql.log"), startparams="-w", dbname="postgres", user=USER, password=PASSWORD,
        postgres_options=SERVER_OPTIONS,
    )
    executor.owner = owner
    try:
        executor.start()
        yield Cluster("127.0.0.1", port, executor)
    finally:
        with contextlib.suppress(Exception):
            executor.stop()
        shutil.rmtree(base, ignore_errors=True)
