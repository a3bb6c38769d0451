"""Prisma Migrate, run locally with the app's pinned CLI, and what its output means.

One mapping from Prisma's messages to a cause and its fix serves both paths: the local run
(`python -m ops migrate --database-url URL`, Prisma's WebAssembly engine through the driver-adapter
config in app/) and the one-off ECS task's log lines (`python -m ops migrate -s STACK`, the
image's native engine). The two engines word a few failures differently (a failing migration
is P3018 natively and "external connector error" through the adapter); both are recognised.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ops.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, OpsError

APP_DIR = Path(__file__).resolve().parent.parent / "app"
ADAPTER_CONFIG = "prisma.adapter.config.ts"
ADVISORY_LOCK_ID = 72707369  # Prisma Migrate's pg_advisory_lock key
# Node 22.1+ keeps V8's compiled code there between runs: on Node 24 the migration tests' 13 CLI runs took 19 s of
# CPU without it and 15.4-16 s with it. Older releases ignore the variable. A caller's own NODE_COMPILE_CACHE wins.
COMPILE_CACHE = Path("node_modules") / ".cache" / "node-compile-cache"

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Lines the CLI prints only because of the adapter config; the WARNING's advice (drop `url` from
# the schema) would break the image's native path, so it is not shown.
ADAPTER_NOISE = re.compile(
    r"^(Loaded Prisma config from .*|Prisma config detected, skipping environment variable loading\.|"
    r"WARNING: Your schema specifies the following datasource properties but you are using a Driver Adapter.*|"
    r"- url|The values from your schema will NOT be used!|We recommend you to remove those properties from your "
    r"schema to avoid confusion if you are only using driver adapters\.)$")


# Frames of the schema engine's backtrace ("   0: sql_schema_connector::…", "with migration_name=…",
# "at schema-engine/….rs:113"): the cause is summarised instead.
BACKTRACE_FRAME = re.compile(r"^\s+(\d+: \S+::\S+|with \w+=.*|at \S+\.rs:\d+)$")


def hidden(line: str) -> bool:
    """A line not worth showing: adapter-only noise or an engine backtrace frame."""
    line = ANSI.sub("", line)
    return bool(ADAPTER_NOISE.match(line.strip()) or BACKTRACE_FRAME.match(line))


def clean(text: str) -> str:
    return ANSI.sub("", text).replace("\r\n", "\n")


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<the database URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:****@{netloc[-1]}"))


# ----------------------------------------------------------------------------- what went wrong


@dataclass(frozen=True)
class Where:
    """How the fixes are phrased for the path that ran Prisma."""

    rerun: str                    # the command that runs the migrations again
    resolve: Callable[[str, str], str]  # (--applied | --rolled-back, migration) -> command
    credentials: str              # where the database URL comes from and how to change it
    network: str                  # what must be true for the server to be reachable


def local_where(url: str, schema_args: str = "") -> Where:
    shown = redact_url(url)
    command = "python -m ops migrate --database-url <url>" + schema_args
    return Where(
        rerun=command,
        resolve=lambda flag, name: f"{command} --resolve-{flag.lstrip('-')} {name}",
        credentials=f"check the user and password in the database URL ({shown})",
        network=f"check the host and port in the database URL ({shown}), that the server runs and that this "
                "machine may reach it",
    )


def stack_where(stack: str, secret_name: str = "", network: str = "") -> Where:
    secret = secret_name or f"truecaller-backend/{stack}/database-url"
    return Where(
        rerun=f"python -m ops migrate -s {stack}",
        resolve=lambda flag, name: f"python -m ops migrate -s {stack} --resolve-{flag.lstrip('-')} {name}",
        credentials=(f"correct DATABASE_URL: pulumi config set --secret databaseUrl '<url>' -s {stack} && pulumi up "
                     f"-s {stack} (secretsMode external: aws secretsmanager put-secret-value --secret-id {secret} "
                     "--secret-string '<url>')"),
        network=network or ("the task must reach the database: outbound internet (NAT gateway, or a public IP with "
                            "natMode none) and the provider's IP allow-list; check the URL's host and port"),
    )


@dataclass(frozen=True)
class Problem:
    kind: str      # stable key (what tests and callers match on)
    summary: str   # the cause, one line
    fix: list[str] = field(default_factory=list)

    def render(self) -> str:
        steps = "".join(f"\n  {i}. {step}" if len(self.fix) > 1 else f"\n  fix: {step}"
                        for i, step in enumerate(self.fix, 1))
        return self.summary + steps


def _first(pattern: str, text: str, flags: int = 0) -> re.Match | None:
    return re.search(pattern, text, flags)


def failing_statement(text: str) -> str | None:
    """The last numbered line of Prisma's "Position:" block (native P3018, and the adapter config)."""
    block = _first(r"^Position:\n((?:[ \t]*\d+(?: [^\n]*)?(?:\n|$))+)", text, re.MULTILINE)
    if not block:
        return None
    number, _, line = block.group(1).rstrip("\n").splitlines()[-1].strip().partition(" ")
    return f"line {number}: {line.strip()}" if line.strip() else None


def _migration_name(text: str) -> str | None:
    match = _first(r"^Migration name: (\S+)", text, re.MULTILINE) or _first(r'with migration_name="([^"]+)"', text)
    return match.group(1) if match else None


def _database_error(text: str) -> str | None:
    match = (_first(r"^Database error:\n(.+)", text, re.MULTILINE)
             or _first(r"^Error querying the database: (.+)", text, re.MULTILINE)
             or _first(r"^Error: external connector error\n(.+)", text, re.MULTILINE))
    return match.group(1).strip() if match else None


def _missing_table(text: str) -> str | None:
    match = (_first(r"No such table: (\S+)", text) or _first(r'relation "([^"]+)" does not exist', text)
             or _first(r"The underlying table for model `([^`]+)` does not exist", text)
             or _first(r"The table `([^`]+)` does not exist in the current database", text))
    return match.group(1) if match else None


def explain(output: str, where: Where) -> Problem | None:
    """The cause and fix of a failed Prisma Migrate run, from what it printed (None: not recognised)."""
    text = clean(output)
    status = where.rerun.replace("python -m ops migrate", "python -m ops migrate --status", 1)

    if "P1002" in text or "Timed out trying to acquire a postgres advisory lock" in text:
        if "advisory lock" in text:
            return Problem("lock-timeout", "another migration run holds Prisma Migrate's advisory lock "
                           f"(pg_advisory_lock({ADVISORY_LOCK_ID})) and this one gave up after 10 s (P1002)", [
                               "wait for the other `prisma migrate deploy` (a parallel deploy or CI job) to finish, "
                               f"then run again: {where.rerun}",
                               "a stuck session holding it: SELECT pid, state, backend_start FROM pg_locks JOIN "
                               "pg_stat_activity USING (pid) WHERE locktype = 'advisory' AND objid = "
                               f"{ADVISORY_LOCK_ID}; end it with SELECT pg_terminate_backend(<pid>)"])
        return Problem("timeout", "the database server was reached but timed out (P1002)",
                       [f"check the server's load and limits, then run again: {where.rerun}"])

    if match := _first(r"The `([^`]+)` migration started at (.+?) failed", text):
        name, started = match.groups()
        return Problem("failed-migration", f"migration {name} failed earlier (started {started}) and blocks every "
                       "new migration (P3009)", [
                           f"see what it did: {status}; PostgreSQL ran it as one transaction, so unless it commits "
                           "by itself nothing of it stayed",
                           f"if nothing of it stayed: fix migration.sql if it was wrong, mark it rolled back "
                           f"({where.resolve('--rolled-back', name)}) and run again: {where.rerun}",
                           f"if you completed it by hand instead: {where.resolve('--applied', name)}"])

    if "P3005" in text or "The database schema is not empty" in text or "not managed by Prisma Migrate" in text:
        return Problem("not-baselined", "the database already has tables but no migration history "
                       "(_prisma_migrations), so Prisma will not apply migrations to it (P3005)", [
                           "compare the schema with the migrations: npx prisma db pull, or prisma migrate diff "
                           "--from-url <url> --to-migrations prisma/migrations",
                           "baseline: mark each migration the database already reflects as applied, oldest first: "
                           + where.resolve("--applied", "<migration>"),
                           f"then run again: {where.rerun}"])

    if "P3018" in text or "sql_schema_connector::apply_migration::apply_script" in text:
        name = _migration_name(text) or "(unnamed)"
        table = _missing_table(text)
        where_in_sql = failing_statement(text)
        cause = f"table {table} does not exist" if table else (_database_error(text) or "the SQL failed")
        summary = f"migration {name} failed: {cause}" + (f" (at {where_in_sql})" if where_in_sql else "")
        fix = ["PostgreSQL rolled the migration's statements back; Prisma recorded it as failed (next runs stop "
               "with P3009 until it is resolved)"]
        if table:
            fix.append(f"no earlier migration creates {table} (made by hand or with `prisma db push`?): create it in "
                       "a migration first, or baseline a database that has it")
        fix += [f"fix prisma/migrations/{name}/migration.sql (it never completed anywhere), then mark it rolled "
                f"back: {where.resolve('--rolled-back', name)}", f"and run again: {where.rerun}"]
        return Problem("missing-table" if table else "migration-sql", summary, fix)

    if table := _missing_table(text):
        return Problem("missing-table", f"table {table} does not exist: the code expects it but no migration creates "
                       "it (P1014)", [
                           "create the migration for the model: npx prisma migrate dev --name <change> against a "
                           "development database, and commit prisma/migrations",
                           "`python -m ops migrate --check --database-url <scratch db>` finds models without a "
                           "migration before a deploy"])

    if match := _first(r"Can't reach database server at `([^`]+)`(?::`(\d+)`)?", text):
        host = match.group(1) + (f":{match.group(2)}" if match.group(2) else "")
        return Problem("unreachable", f"cannot reach the database server at {host} (P1001)", [where.network])

    if "Authentication failed against database server" in text:
        user = _first(r"credentials for `([^`]+)`", text)
        return Problem("authentication", "the database server refused the credentials"
                       + (f" of user {user.group(1)}" if user else "") + " (P1000)", [where.credentials])

    if match := _first(r"Database `([^`]+)` does not exist", text):
        return Problem("database-missing", f"database {match.group(1)} does not exist on the server (P1003)", [
            f"create it (CREATE DATABASE \"{match.group(1)}\", or your provider's console) or fix the database name: "
            + where.credentials])

    if "Error opening a TLS connection" in text or "The server does not support SSL connections" in text:
        return Problem("tls", "the TLS connection to the database failed",
                       ["match the URL's sslmode to the server (hosted databases need sslmode=require)",
                        where.credentials])
    return None


def error_lines(output: str, limit: int = 4) -> list[str]:
    """Prisma's own error lines without the engine backtrace (for failures `explain` does not know)."""
    lines = [line for line in clean(output).splitlines() if line.strip() and not hidden(line)]
    start = next((i for i, line in enumerate(lines) if line.startswith("Error")), None)
    return lines[-limit:] if start is None else lines[start:start + limit]


def failure_message(output: str, where: Where, what: str = "the migration") -> str:
    problem = explain(output, where)
    if problem:
        return problem.render()
    return f"{what} failed: " + " / ".join(error_lines(output)) if output.strip() else f"{what} failed with no output"


# ----------------------------------------------------------------------------- migrate status


@dataclass
class MigrationStatus:
    up_to_date: bool = False
    pending: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    problem: Problem | None = None

    def summary(self) -> str:
        if self.failed:
            return f"failed: {', '.join(self.failed)}"
        if self.pending:
            return f"{len(self.pending)} pending: {', '.join(self.pending)}"
        if self.up_to_date:
            return "database schema is up to date"
        return self.problem.summary if self.problem else "unknown"


def _names_after(heading: str, text: str) -> list[str]:
    match = re.search(heading + r"\n((?:\S+(?:\n|$))+)", text)  # one name a line (log events: no blank line after)
    return match.group(1).split() if match else []


def parse_status(output: str, exit_code: int | None, where: Where) -> MigrationStatus:
    """What `prisma migrate status` found (it exits 1 for pending and failed migrations alike)."""
    text = clean(output)
    status = MigrationStatus(
        pending=_names_after(r"Following migrations? have not yet been applied:", text),
        failed=_names_after(r"Following migrations? have failed:", text),
    )
    status.up_to_date = "Database schema is up to date!" in text or (exit_code == 0 and not status.pending)
    if status.failed:
        name = status.failed[0]
        status.problem = Problem("failed-migration", f"migration {name} failed and blocks every new migration (P3009)",
                                 [f"if nothing of it stayed in the database: fix it, then "
                                  f"{where.resolve('--rolled-back', name)}",
                                  f"if you completed it by hand: {where.resolve('--applied', name)}",
                                  f"then: {where.rerun}"])
    elif "history and the migrations table from your database are different" in text:
        missing = _names_after(r"from the database are not found locally in prisma/migrations:", text)
        status.problem = Problem("diverged", "the database has migrations this image does not: "
                                 + ", ".join(missing), ["deploy an image whose prisma/migrations has them (a "
                                                        "rollback of the image does not roll back the database)"])
    elif not (status.up_to_date or status.pending):
        said = " / ".join(error_lines(text)) or "it printed nothing"
        status.problem = explain(text, where) or Problem("unknown", f"prisma migrate status failed: {said}")
    return status


def report_status(status: MigrationStatus, printer: Callable[[str], None]) -> int:
    """0: up to date, or only pending migrations (the next deploy applies them); 1: a failed migration
    or a status that could not be read."""
    if status.pending:
        printer(f"pending ({len(status.pending)}): " + ", ".join(status.pending))
    if status.problem:
        printer(status.problem.render())
        return EXIT_FAILED
    printer("no pending migration: the database schema is up to date" if not status.pending
            else "no failed migration: the next `ops migrate` applies the pending ones")
    return EXIT_OK


MIGRATION_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def checked_name(name: str) -> str:
    if not MIGRATION_NAME.match(name):
        raise OpsError(f"{name!r} is not a migration folder name (letters, digits, _ . -)", EXIT_USAGE)
    return name


# ----------------------------------------------------------------------------- the local CLI


@dataclass
class CliRun:
    args: list[str]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return clean(self.stdout + ("\n" if self.stdout and not self.stdout.endswith("\n") else "") + self.stderr)

    def shown_lines(self) -> list[str]:
        """What to show a user: the output without the adapter's noise, the engine backtrace summarised."""
        shown: list[str] = []
        for line in self.output.splitlines():
            if not hidden(line) and (line.strip() or (shown and shown[-1].strip())):
                shown.append(line.rstrip())
        while shown and not shown[-1]:
            shown.pop()
        return shown


class LocalPrisma:
    """The app's pinned Prisma CLI (app/node_modules/.bin/prisma, the version the image runs) with the
    WebAssembly engine and the `pg` driver adapter (app/prisma.adapter.config.ts)."""

    def __init__(self, database_url: str, app_dir: Path = APP_DIR, schema: Path | None = None,
                 timeout: float | None = None):
        if not database_url.strip():
            raise OpsError("--database-url is empty: pass postgresql://user:password@host:port/database", EXIT_USAGE)
        if not re.match(r"^postgres(ql)?://", database_url):
            raise OpsError(f"--database-url must start with postgresql:// (got {redact_url(database_url)!r})",
                           EXIT_USAGE)
        self.database_url, self.app_dir, self.timeout = database_url, app_dir, timeout
        self.schema = schema.resolve() if schema else None
        if self.schema and not self.schema.is_file():
            raise OpsError(f"--schema {schema}: no such file", EXIT_USAGE)
        self.binary = app_dir / "node_modules" / ".bin" / "prisma"

    @property
    def migrations_dir(self) -> Path:
        return (self.schema.parent if self.schema else self.app_dir / "prisma") / "migrations"

    @property
    def schema_file(self) -> Path:
        return self.schema or self.app_dir / "prisma" / "schema.prisma"

    def where(self) -> Where:
        return local_where(self.database_url, f" --schema {self.schema}" if self.schema else "")

    def run(self, *args: str, stdin: str | None = None) -> CliRun:
        if not self.binary.exists():
            raise OpsError(f"{self.binary} is missing: run `make app-build` (npm ci in app/) first", EXIT_USAGE)
        command = [str(self.binary), *args, "--config", ADAPTER_CONFIG]
        env = {**os.environ, "DATABASE_URL": self.database_url,
               # The WebAssembly engines only: the native ones would be downloaded (not possible offline).
               "PRISMA_CLIENT_ENGINE_TYPE": "client", "CHECKPOINT_DISABLE": "1", "NO_COLOR": "1",
               "NPM_CONFIG_UPDATE_NOTIFIER": "false",
               "NODE_COMPILE_CACHE": os.environ.get("NODE_COMPILE_CACHE") or str(self.app_dir / COMPILE_CACHE)}
        try:
            done = subprocess.run(command, cwd=self.app_dir, env=env, capture_output=True, text=True, input=stdin,
                                  timeout=self.timeout, check=False)
        except FileNotFoundError as exc:
            raise OpsError(f"cannot run the Prisma CLI ({exc.strerror}): Node.js 20+ must be on PATH", EXIT_USAGE) \
                from exc
        except subprocess.TimeoutExpired as exc:
            raise OpsError(f"prisma {' '.join(args[:2])} did not finish within {self.timeout:g}s and was stopped; "
                           "if it was applying a migration, PostgreSQL rolled it back and Prisma recorded it as "
                           "failed: check with --status") from exc
        return CliRun(command, done.returncode, done.stdout, done.stderr)

    def _schema_args(self) -> list[str]:
        return ["--schema", str(self.schema)] if self.schema else []

    def deploy(self) -> CliRun:
        return self.run("migrate", "deploy", *self._schema_args())

    def status(self) -> CliRun:
        return self.run("migrate", "status", *self._schema_args())

    def resolve_applied(self, name: str) -> CliRun:
        return self.run("migrate", "resolve", "--applied", name, *self._schema_args())

    def execute(self, sql: str) -> CliRun:
        return self.run("db", "execute", "--stdin", "--schema", str(self.schema_file), stdin=sql)

    def diff(self) -> CliRun:
        """The SQL that would take prisma/migrations to schema.prisma (exit 2 when there is some), from the
        migrations replayed on a shadow database the URL's server creates and drops."""
        return self.run("migrate", "diff", "--from-migrations", str(self.migrations_dir), "--to-schema-datamodel",
                        str(self.schema_file), "--script", "--exit-code")
