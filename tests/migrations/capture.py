"""Capture what the real Prisma CLI prints in each migration case: `python -m tests.migrations.capture`.

Writes tests/migrations/fixtures/prisma_output.json, which the ops tests feed to the one-off task's
CloudWatch log stream instead of invented lines. Every entry is one real run of the app's pinned Prisma
CLI (app/node_modules/.bin/prisma, WebAssembly engine through app/prisma.adapter.config.ts) against a
throwaway PostgreSQL cluster (tests/migrations/postgres.py), stdout and stderr as printed. Re-run it after
bumping Prisma, the adapter or PostgreSQL; it takes about 40 s (the lock case waits out Prisma's 10 s).
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from ops.prisma import APP_DIR, LocalPrisma
from tests.migrations import scenarios
from tests.migrations.postgres import cluster, find_pg_ctl

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "prisma_output.json"


def record(run) -> dict:
    return {"args": [a for a in run.args[1:] if not a.startswith("/")], "exit_code": run.exit_code,
            "stdout": run.stdout, "stderr": run.stderr}


def capture() -> dict:
    pg_ctl = find_pg_ctl()
    if not pg_ctl:
        sys.exit("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    cases: dict[str, dict] = {}
    with cluster(pg_ctl) as pg, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        syntax = scenarios.project(root / "syntax", scenarios.SYNTAX_ERROR)
        missing = scenarios.project(root / "missing", scenarios.MISSING_TABLE)
        drift = scenarios.project(root / "drift", schema_changes=(scenarios.ADD_EMAIL_TO_MODEL,))
        pending = scenarios.project(root / "pending", scenarios.EMAIL_COLUMN)

        with pg.database() as url:
            cases["deploy_applied"] = record(LocalPrisma(url).deploy())
            cases["deploy_no_pending"] = record(LocalPrisma(url).deploy())
            cases["status_up_to_date"] = record(LocalPrisma(url).status())
            cases["status_pending"] = record(LocalPrisma(url, schema=pending).status())
        with pg.database() as url:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute('CREATE TABLE "Legacy" (id integer)')
            cases["deploy_not_empty"] = record(LocalPrisma(url).deploy())
            cases["status_not_baselined"] = record(LocalPrisma(url).status())
            cases["resolve_applied"] = record(LocalPrisma(url).resolve_applied(scenarios.INIT))
        with pg.database() as url:
            cases["deploy_sql_error"] = record(LocalPrisma(url, schema=syntax).deploy())
            cases["deploy_failed_blocks"] = record(LocalPrisma(url, schema=syntax).deploy())
            cases["status_failed"] = record(LocalPrisma(url, schema=syntax).status())
        with pg.database() as url:
            cases["deploy_missing_table"] = record(LocalPrisma(url, schema=missing).deploy())
        with pg.database() as url:
            cases["deploy_unreachable"] = record(LocalPrisma(pg.url("app").replace(str(pg.port), "1")).deploy())
            cases["deploy_authentication"] = record(LocalPrisma(pg.url("postgres", password="wrong")).deploy())
            cases["deploy_database_missing"] = record(LocalPrisma(pg.url("nosuchdb")).deploy())
            cases["diff_no_drift"] = record(LocalPrisma(url).diff())
            cases["diff_drift"] = record(LocalPrisma(url, schema=drift).diff())
            cases["diff_drift_script"] = record(LocalPrisma(url, schema=drift).diff(script=True))
        with pg.database() as url:
            # Another session holds Prisma's advisory lock for longer than its 10 s timeout.
            held = threading.Event()

            def hold():
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("SELECT pg_advisory_lock(72707369)")
                    held.set()
                    time.sleep(13)

            holder = threading.Thread(target=hold)
            holder.start()
            held.wait(10)
            cases["deploy_lock_timeout"] = record(LocalPrisma(url).deploy())
            holder.join()
        server = subprocess.run([pg_ctl, "--version"], capture_output=True, text=True).stdout.strip()
    package = json.loads((APP_DIR / "package-lock.json").read_text())["packages"]
    return {
        "captured": {
            "how": "python -m tests.migrations.capture",
            "date": datetime.date.today().isoformat(),
            "prisma": package["node_modules/prisma"]["version"],
            "adapter": "@prisma/adapter-pg " + package["node_modules/@prisma/adapter-pg"]["version"],
            "postgresql": server,
        },
        "cases": cases,
    }


if __name__ == "__main__":
    FIXTURES.parent.mkdir(exist_ok=True)
    FIXTURES.write_text(json.dumps(capture(), indent=2) + "\n")
    print(f"wrote {FIXTURES}")
