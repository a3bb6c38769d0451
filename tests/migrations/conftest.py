"""A real PostgreSQL (throwaway cluster, one per test session) and the app's real Prisma CLI."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from ops.prisma import APP_DIR
from tests.migrations.postgres import Cluster, cluster, find_pg_ctl

MISSING_POSTGRES = ("PostgreSQL server binaries (pg_ctl) not found: install Debian's `postgresql` package "
                    "(apt-get install -y postgresql; .ci/run does it)")


@pytest.fixture(scope="session")
def pg(app_build) -> Iterator[Cluster]:
    pg_ctl = find_pg_ctl()
    if not pg_ctl:
        if os.environ.get("CI"):  # CI must run these tests, never skip them
            pytest.fail(MISSING_POSTGRES)
        pytest.skip(MISSING_POSTGRES)
    prisma = APP_DIR / "node_modules" / ".bin" / "prisma"
    # A missing app build is a failure with the fix, never a skip.
    assert prisma.exists(), f"{prisma} is missing: run `make app-build` (npm ci --ignore-scripts in app/)"
    with cluster(pg_ctl) as running:
        yield running


@pytest.fixture
def database(pg) -> Iterator[str]:
    """The URL of a new, empty database (dropped after the test)."""
    with pg.database() as url:
        yield url


def query(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []
