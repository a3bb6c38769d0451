"""`python -m ops migrate --database-url URL` against a real PostgreSQL with the app's pinned Prisma CLI."""

from __future__ import annotations

import hashlib
import socket
import threading
import time

from ops.cli import main
from ops.prisma import ADVISORY_LOCK_ID, APP_DIR, COMPILE_CACHE, LocalPrisma
from tests.migrations import scenarios
from tests.migrations.conftest import query
from tests.migrations.postgres import PASSWORD

INIT_SQL = APP_DIR / "prisma" / "migrations" / scenarios.INIT / "migration.sql"


class Out:
    def __init__(self):
        self.lines: list[str] = []

    def __call__(self, line: str):
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def migrate(*argv: str) -> tuple[int, Out]:
    out = Out()
    code = main(["migrate", *argv], printer=out)
    return code, out


def history(url: str) -> list[tuple]:
    return query(url, "SELECT migration_name, checksum, finished_at IS NOT NULL, rolled_back_at IS NOT NULL, "
                      "applied_steps_count FROM _prisma_migrations ORDER BY started_at")


def tables(url: str) -> set[str]:
    return {name for (name,) in query(url, "SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'public'")}


def columns(url: str, table: str) -> dict[str, tuple]:
    rows = query(url, "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                      "WHERE table_schema = 'public' AND table_name = %s", table)
    return {name: (kind, nullable) for name, kind, nullable in rows}


def test_applies_the_sample_migrations_and_reports_pending_ones(database, tmp_path):
    started = time.monotonic()
    code, out = migrate("--database-url", database)
    elapsed = time.monotonic() - started
    assert code == 0, out.text
    assert out.lines[-1] == "migrations applied"
    assert "  | All migrations have been successfully applied." in out.lines
    assert PASSWORD not in out.text
    # The adapter config makes the CLI advise removing `url` from the schema: wrong for the image.
    assert "remove those properties" not in out.text and "Loaded Prisma config" not in out.text
    # The schema the migration creates, and Prisma's record of it.
    assert tables(database) == {"User", "_prisma_migrations"}
    assert columns(database, "User") == {
        "id": ("text", "NO"), "phoneNumber": ("text", "NO"), "displayName": ("text", "YES"),
        "createdAt": ("timestamp without time zone", "NO"), "updatedAt": ("timestamp without time zone", "NO")}
    assert query(database, "SELECT indexname FROM pg_indexes WHERE tablename = 'User' ORDER BY 1") == [
        ("User_phoneNumber_key",), ("User_pkey",)]
    checksum = hashlib.sha256(INIT_SQL.read_bytes()).hexdigest()
    assert history(database) == [(scenarios.INIT, checksum, True, False, 1)]
    # Without the adapter config's timer fix every run lingers 10 s after its work.
    assert elapsed < 9.5, f"an empty-database apply took {elapsed:.1f}s (10 s more: the engine's timer kept Node alive)"
    print(f"\nempty-database apply through ops: {elapsed:.2f}s")

    # Before a release: a migration in the folder that the database does not have yet.
    pending = scenarios.project(tmp_path, scenarios.EMAIL_COLUMN)
    code, out = migrate("--database-url", database, "--schema", str(pending), "--status")
    assert code == 0, out.text
    assert "pending (1): 20260303000000_email" in out.lines


def test_a_failing_migration_is_rolled_back_named_and_recoverable(database, tmp_path):
    schema = scenarios.project(tmp_path, scenarios.SYNTAX_ERROR)
    name = scenarios.SYNTAX_ERROR[0]
    code, out = migrate("--database-url", database, "--schema", str(schema))
    assert code == 1
    assert f'migration {name} failed: ERROR: syntax error at or near "SELEC" (at line 2: SELEC 1;)' in out.text
    assert "sql_schema_connector" not in out.text and "Traceback" not in out.text  # backtrace summarised
    # The whole script ran as one transaction: its first statement did not stay.
    assert "email" not in columns(database, "User")
    assert [(row[0], row[2]) for row in history(database)] == [(scenarios.INIT, True), (name, False)]

    code, out = migrate("--database-url", database, "--schema", str(schema))
    assert code == 1
    assert f"migration {name} failed earlier" in out.text and "(P3009)" in out.text
    assert f"--resolve-rolled-back {name}" in out.text

    code, out = migrate("--database-url", database, "--schema", str(schema), "--resolve-rolled-back", name)
    assert code == 0, out.text
    assert history(database)[-1][3] is True  # rolled_back_at set

    sql = schema.parent / "migrations" / name / "migration.sql"
    sql.write_text(sql.read_text().replace("SELEC 1", "SELECT 1"))
    code, out = migrate("--database-url", database, "--schema", str(schema))
    assert code == 0, out.text
    assert columns(database, "User")["email"] == ("text", "YES")


def test_a_database_without_history_is_baselined(database):
    query(database, 'CREATE TABLE "User" (id text PRIMARY KEY)')  # made earlier with `db push`, say
    code, out = migrate("--database-url", database)
    assert code == 1
    assert "no migration history" in out.text and "(P3005)" in out.text
    assert "--resolve-applied <migration>" in out.text
    code, out = migrate("--database-url", database, "--resolve-applied", scenarios.INIT)
    assert code == 0, out.text
    assert out.lines[-1] == f"migration {scenarios.INIT} marked as applied"
    assert history(database) == [(scenarios.INIT, hashlib.sha256(INIT_SQL.read_bytes()).hexdigest(), True, False, 0)]


def test_a_server_that_hangs_up_is_unreachable_too(app_build):
    """What a proxy or a firewall that drops the connection looks like (the stock adapter said
    "External error id#0")."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def hang_up():
            connection, _ = listener.accept()
            connection.close()

        threading.Thread(target=hang_up, daemon=True).start()
        code, out = migrate("--database-url", f"postgresql://app:pw@127.0.0.1:{port}/app")
    assert code == 1
    assert out.lines[-1].startswith(f"cannot reach the database server at 127.0.0.1:{port} (P1001)")


def test_cli_runs_share_nodes_compile_cache_unless_the_caller_names_one(tmp_path, monkeypatch):
    """Node 22.1+ reads NODE_COMPILE_CACHE (older releases ignore it): the stand-in CLI reports it."""
    fake = tmp_path / "node_modules" / ".bin" / "prisma"
    fake.parent.mkdir(parents=True)
    fake.write_text('#!/bin/sh\necho "$NODE_COMPILE_CACHE"\n')
    fake.chmod(0o755)
    monkeypatch.delenv("NODE_COMPILE_CACHE", raising=False)
    assert LocalPrisma("postgresql://u:p@h/d", app_dir=tmp_path).status().stdout == f"{tmp_path / COMPILE_CACHE}\n"
    monkeypatch.setenv("NODE_COMPILE_CACHE", "/elsewhere")
    assert LocalPrisma("postgresql://u:p@h/d", app_dir=tmp_path).status().stdout == "/elsewhere\n"


def test_drift_between_schema_and_migrations(database, tmp_path):
    code, out = migrate("--database-url", database, "--check")
    assert code == 0, out.text
    assert out.lines[-1].startswith("no drift")

    # A column, and a model whose table no migration creates (the code would miss it at run time).
    drifted = scenarios.project(tmp_path, schema_changes=(scenarios.ADD_EMAIL_TO_MODEL, scenarios.ADD_POST_MODEL))
    code, out = migrate("--database-url", database, "--check", "--schema", str(drifted))
    assert code == 1
    assert out.lines[0].startswith("DRIFT: schema.prisma and prisma/migrations disagree")
    assert '  ALTER TABLE "User" ADD COLUMN     "email" TEXT;' in out.lines
    assert '  CREATE TABLE "Post" (' in out.lines
    assert "npx prisma migrate dev --name" in out.lines[-1]
    # The shadow database was the server's scratch one, not this database, and it is gone.
    assert tables(database) == set()
    assert query(database, "SELECT datname FROM pg_database WHERE datname LIKE 'prisma_migrate_shadow_db_%'") == []


def test_two_deploys_at_once_both_end_well(database, tmp_path):
    """Prisma's advisory lock serialises them: one applies, the other finds nothing pending. The
    migration has a plpgsql body full of `;` (applied whole, as the native engine does)."""
    schema = scenarios.project(tmp_path, scenarios.FUNCTION)
    runs: list[tuple[int, Out]] = []
    argv = ("--database-url", database, "--schema", str(schema))
    threads = [threading.Thread(target=lambda: runs.append(migrate(*argv))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [code for code, _ in runs] == [0, 0], [out.text for _, out in runs]
    assert sorted(out.lines[-1] for _, out in runs) == ["migrations applied", "no pending migration"]
    assert any("  | No pending migrations to apply." in out.lines for _, out in runs)
    assert [(row[0], row[2]) for row in history(database)] == [(scenarios.INIT, True), (scenarios.FUNCTION[0], True)]
    query(database, "INSERT INTO \"User\" (id, \"phoneNumber\", \"updatedAt\") VALUES ('u1', '+100', '2000-01-01')")
    query(database, "UPDATE \"User\" SET \"displayName\" = 'x' WHERE id = 'u1'")
    assert query(database, "SELECT \"updatedAt\" > '2001-01-01' FROM \"User\"") == [(True,)]  # the trigger ran
    # The lock ends with the session: nobody holds it any more.
    assert query(database, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                 ADVISORY_LOCK_ID) == [(0,)]


def test_usage_errors_name_the_fix(capsys, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["migrate"], printer=print) == 2
    assert "migrate needs -s STACK" in capsys.readouterr().err
    assert main(["migrate", "--database-url", "mysql://x@y/z"], printer=print) == 2
    assert "must start with postgresql://" in capsys.readouterr().err
    assert main(["migrate", "--database-url", "postgresql://u:p@h/d", "--resolve-applied", "x; DROP TABLE y"],
                printer=print) == 2
    assert "is not a migration folder name" in capsys.readouterr().err
