"""`python -m ops <command> -s <stack>`: the deployment notes' manual steps as safe commands."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ops.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Aws, OpsError, StackOutputs
from ops.pulumi_stack import PulumiStack


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__)

    def stack_options(required: bool) -> argparse.ArgumentParser:
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument("-s", "--stack", required=required, help="prod, staging, ...")
        common.add_argument("--outputs", type=Path, help="stack outputs JSON (pulumi stack output --json) instead of "
                                                         "asking the Pulumi CLI")
        common.add_argument("--region", help="AWS region (default: the stack's `region` output)")
        return common

    common = stack_options(required=True)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("preflight", parents=[common], help="the deployment checklist")
    p.add_argument("--image", help="image digest reference to check instead of the deployed one")
    p.add_argument("--json", action="store_true")
    p.add_argument("--migrations", action="store_true", help="also run `prisma migrate status` as a one-off task")
    p.add_argument("--poll-seconds", type=float, default=6.0, help="with --migrations: task refresh interval")

    p = sub.add_parser("migrate", parents=[stack_options(required=False)],
                       help="database migrations: a one-off task (-s STACK) or a database URL (--database-url)")
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait for the task (default 900)")
    p.add_argument("--poll-seconds", type=float, default=6.0, help="progress and log refresh interval")
    p.add_argument("--database-url", help="apply app/prisma/migrations to this database with the app's Prisma CLI "
                                          "(no stack, no AWS; default $DATABASE_URL when -s is not given)")
    p.add_argument("--check", action="store_true", help="with --database-url: fail when schema.prisma and the "
                                                        "migrations disagree (the URL's server hosts a shadow db)")
    p.add_argument("--status", action="store_true", help="pending and failed migrations (prisma migrate status)")
    p.add_argument("--resolve-applied", metavar="MIGRATION", help="record a migration as applied (baselining)")
    p.add_argument("--resolve-rolled-back", metavar="MIGRATION", help="record a failed migration as rolled back")
    p.add_argument("--schema", help="with --database-url: another schema.prisma (its migrations/ beside it)")

    p = sub.add_parser("deploy", parents=[common], help="preflight, image, migrate, roll out, verify")
    p.add_argument("--migrate-timeout", type=int, default=900)
    p.add_argument("--health-timeout", type=int, default=600)

    p = sub.add_parser("status", parents=[common], help="counts, deployments, events, target health")
    p.add_argument("--json", action="store_true")
    p.add_argument("--watch", action="store_true", help="refresh every --interval seconds")
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--count", type=int, help="with --watch: stop after this many refreshes")

    p = sub.add_parser("logs", parents=[common], help="tail the service log group")
    p.add_argument("--since", default="10m", help="30s, 15m, 2h, 1d or an ISO time (default 10m)")
    p.add_argument("--filter", dest="pattern", help="CloudWatch Logs filter pattern, e.g. ERROR")
    p.add_argument("--follow", action="store_true")
    p.add_argument("--limit", type=int)

    p = sub.add_parser("rollback", parents=[common], help="back to the previous working image")
    p.add_argument("--to-digest", help="sha256:<digest> (or <repository>@sha256:<digest>) to roll back to")
    p.add_argument("--now", action="store_true", help="emergency: update the ECS service directly")

    p = sub.add_parser("destroy", parents=[common], help="guarded pulumi destroy")
    p.add_argument("--confirm", metavar="STACK", help="confirm non-interactively by naming the stack")
    p.add_argument("--unprotect", action="store_true", help="lift prod's protection (protect=false, then up)")
    p.add_argument("--force-delete-secrets", action="store_true", help="skip the secrets' 30-day recovery window")
    return parser


def run(args, adapter_factory=PulumiStack, printer=print, ask=input, interactive=None) -> int:
    if args.command == "migrate" and not args.stack:  # a database URL: no stack, no AWS
        from ops.migrate_local import run_local

        return run_local(args, printer)
    from ops import deploy, destroy, logs, migrate, preflight, rollback, status

    adapter = adapter_factory(args.stack)
    if args.command == "deploy":
        outputs = StackOutputs(adapter.outputs(), f"stack {args.stack}'s outputs")
        aws = Aws(args.region or outputs["region"])
        deploy.deploy(adapter, aws, args.stack, printer, migrate_timeout=args.migrate_timeout,
                      health_timeout=args.health_timeout)
        return EXIT_OK
    if args.command == "destroy":
        outputs = StackOutputs.from_file(args.outputs) if args.outputs else None
        region = args.region or (outputs and outputs.get("region")) or adapter.outputs().get("region")
        if not region:
            raise OpsError("cannot tell the stack's region: pass --region", EXIT_USAGE)
        destroy.destroy(adapter, Aws(region), args.stack, printer, confirmation=args.confirm,
                        interactive=sys.stdin.isatty() if interactive is None else interactive, ask=ask,
                        unprotect=args.unprotect, force_delete_secrets=args.force_delete_secrets)
        return EXIT_OK

    outputs = (StackOutputs.from_file(args.outputs) if args.outputs
               else StackOutputs(adapter.outputs(), f"stack {args.stack}'s outputs"))
    aws = Aws(args.region or outputs["region"])
    if args.command == "preflight":
        checks = preflight.run_preflight(aws, outputs, args.stack, args.image)
        if args.migrations and all(c.ok for c in checks):
            checks.append(migrate.status_check(aws, outputs, args.stack, (lambda _: None) if args.json else printer,
                                               poll_seconds=args.poll_seconds))
        printer(json.dumps(preflight.checks_json(checks), indent=2) if args.json else preflight.format_checks(checks))
        return EXIT_OK if all(c.ok for c in checks) else EXIT_FAILED
    if args.command == "migrate":
        return migrate.run_on_stack(aws, outputs, args, printer)
    if args.command == "status":
        refreshes = 0
        while True:
            current = status.collect_status(aws, outputs)
            printer(json.dumps(current, indent=2) if args.json else status.format_status(current))
            refreshes += 1
            if not args.watch or (args.count is not None and refreshes >= args.count):
                return EXIT_OK
            time.sleep(args.interval)
    if args.command == "logs":
        logs.tail(aws, outputs["logGroupName"], args.since, args.pattern, args.follow, printer, limit=args.limit)
        return EXIT_OK
    if args.command == "rollback":
        rollback.rollback(aws, outputs, args.stack, printer, adapter=None if args.now else adapter,
                          to_digest=args.to_digest, now=args.now)
        return EXIT_OK
    raise OpsError(f"unknown command {args.command}", EXIT_USAGE)


def main(argv: list[str] | None = None, **kwargs) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args, **kwargs)
    except OpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
