"""`python -m ops migrate --database-url URL`: migrations on a database this machine reaches, with the
app's pinned Prisma CLI (ops.prisma.LocalPrisma); no stack, no AWS. Kept apart from ops.migrate so
that this path loads neither boto3's services nor Pulumi."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ops.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, OpsError, Printer
from ops.prisma import LocalPrisma, Where, checked_name, failure_message, parse_status, report_status


def run_local(args, printer: Printer) -> int:
    """`--database-url URL` (or $DATABASE_URL): no stack, no AWS; the app's pinned Prisma CLI."""
    url = args.database_url or os.environ.get("DATABASE_URL", "")
    if not url:
        raise OpsError("migrate needs -s STACK (the one-off ECS task) or --database-url URL (a database this machine "
                       "reaches; $DATABASE_URL works too)", EXIT_USAGE)
    prisma = LocalPrisma(url, schema=Path(args.schema) if args.schema else None, timeout=args.timeout)
    where = prisma.where()
    if args.check:
        return check_drift(prisma, printer)
    if args.status:
        run = prisma.status()
        return report_status(parse_status(run.output, run.exit_code, where), printer)
    if args.resolve_applied:
        run = prisma.resolve_applied(checked_name(args.resolve_applied))
        return finish(run, printer, where, f"migration {args.resolve_applied} marked as applied")
    if args.resolve_rolled_back:
        return resolve_rolled_back_locally(prisma, checked_name(args.resolve_rolled_back), printer)
    run = prisma.deploy()
    return finish(run, printer, where, "migrations applied" if "have been applied" in run.output
                  else "no pending migration")


def finish(run, printer: Printer, where: Where, success: str) -> int:
    for line in run.shown_lines():
        printer(f"  | {line}")
    if run.exit_code == 0:
        printer(success)
        return EXIT_OK
    printer(failure_message(run.output, where))
    return EXIT_FAILED


def check_drift(prisma: LocalPrisma, printer: Printer) -> int:
    """schema.prisma against prisma/migrations (replayed on a shadow database the URL's server creates)."""
    run = prisma.diff()
    if run.exit_code == 0:
        printer(f"no drift: {prisma.migrations_dir} produces exactly {prisma.schema_file}")
        return EXIT_OK
    if run.exit_code != 2:  # Prisma: 2 = a difference, 1 = an error
        printer(failure_message(run.output, prisma.where(), "the drift check"))
        return EXIT_FAILED
    printer("DRIFT: schema.prisma and prisma/migrations disagree (a model or column changed without a migration); "
            "the missing migration would run:")
    for line in run.stdout.strip().splitlines():
        printer(f"  {line}")
    printer("fix: create the migration against a development database (cd app && npx prisma migrate dev --name "
            "<change>) and commit prisma/migrations/<timestamp>_<change>/")
    return EXIT_FAILED


def resolve_rolled_back_locally(prisma: LocalPrisma, name: str, printer: Printer) -> int:
    """`prisma migrate resolve --rolled-back` needs the native schema engine; this is the same change to
    Prisma's record in SQL, run with Prisma's own `db execute`, and refused unless the migration failed."""
    sql = f"""DO $$ BEGIN
  UPDATE "_prisma_migrations" SET rolled_back_at = now()
   WHERE migration_name = '{name}' AND finished_at IS NULL AND rolled_back_at IS NULL;
  IF NOT FOUND THEN RAISE EXCEPTION 'migration {name} is not a failed migration of this database'; END IF;
END $$;"""
    run = prisma.execute(sql)
    if run.exit_code != 0:
        refused = re.search(r"migration \S+ is not a failed migration of this database", run.output)
        printer(refused.group(0) + " (see --status)" if refused
                else failure_message(run.output, prisma.where(), "marking the migration rolled back"))
        return EXIT_FAILED
    printer(f"migration {name} marked as rolled back; next: {prisma.where().rerun}")
    return EXIT_OK
