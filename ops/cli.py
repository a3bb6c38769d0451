"""`python -m ops <command> -s <stack>`: the deployment notes' manual steps as safe commands."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
import traceback
from pathlib import Path

from ops import errors
from ops.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    MIN_POLL_SECONDS,
    Aws,
    OpsError,
    StackOutputs,
)
from ops.pulumi_stack import PulumiStack

DESCRIPTION = """\
Operate the truecaller-backend stacks deployed by this Pulumi project: check a stack before a
release, run database migrations once, deploy, watch, read logs, roll back and tear down.

Stack outputs come from the Pulumi CLI (`pulumi stack output`), or from --outputs FILE for the
commands that only read them. AWS credentials come from the usual places (AWS_PROFILE, SSO,
environment, instance role); throttled and transient AWS calls are retried with botocore's
standard retry mode (AWS_MAX_ATTEMPTS sets the attempts)."""

COMMANDS_EPILOG = """\
examples:
  python -m ops preflight -s prod
  python -m ops deploy -s staging
  python -m ops logs -s prod --since 1h --filter ERROR --follow
  python -m ops <command> --help       every option of a command

exit codes:
{codes}"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the descriptions' and examples' line breaks; shows every default that is a real value."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("%(default)" not in text and action.option_strings and not action.required
                and action.default not in (None, False, argparse.SUPPRESS)):
            text += " (default: %(default)s)"
        return text


def _command(sub, name: str, parents: list, summary: str, description: str, examples: list[str]):
    epilog = "examples:\n" + "\n".join(f"  {example}" for example in examples)
    return sub.add_parser(name, parents=parents, help=summary, description=description, epilog=epilog,
                          formatter_class=HelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    codes = "\n".join(textwrap.fill(meaning, 96, initial_indent=f"  {code:>3}  ", subsequent_indent=" " * 7)
                      for code, meaning in errors.EXIT_CODES.items())
    parser = argparse.ArgumentParser(prog="python -m ops", description=DESCRIPTION, formatter_class=HelpFormatter,
                                     epilog=COMMANDS_EPILOG.format(codes=codes))
    def stack_options(required: bool) -> argparse.ArgumentParser:
        options = argparse.ArgumentParser(add_help=False)
        options.add_argument("-s", "--stack", required=required,
                             help="the Pulumi stack to operate on, e.g. prod or staging"
                                  + (" (required)" if required else " (default: none, with --database-url)"))
        options.add_argument("--region", help="AWS region of the stack (default: the stack's `region` output, "
                                              "then AWS_REGION or the profile's region)")
        options.add_argument("--debug", action="store_true",
                             help="after an error message, also print Python's traceback (for bug reports)")
        return options

    target = stack_options(required=True)
    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("--outputs", type=Path, metavar="FILE",
                         help="read the stack outputs from this JSON file (`pulumi stack output --json > "
                              "outputs.json`) instead of asking the Pulumi CLI; works without the CLI")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")

    p = _command(sub, "preflight", [target, reading], "the deployment checklist, before a release",
                 "Check a stack before a release, as the deployment notes' checklist does: the AWS identity;\n"
                 "each secret exists, is not scheduled for deletion and has a non-empty current value (values\n"
                 "are never printed); the image digest is in ECR; cluster and service are ACTIVE; targets are\n"
                 "healthy. Prints a PASS/FAIL table with the fix for every failure; exits 1 when one fails.",
                 ["python -m ops preflight -s prod",
                  "python -m ops preflight -s prod --image <account>.dkr.ecr.<region>.amazonaws.com/"
                  "truecaller-backend-prod@sha256:<digest>",
                  "python -m ops preflight -s staging --outputs outputs.json --json"])
    p.add_argument("--image", metavar="REF",
                   help="check this image (<repository>@sha256:<digest>) instead of the one the stack deploys")
    p.add_argument("--json", action="store_true", help="print the checks as JSON (name, ok, detail, fix)")
    p.add_argument("--migrations", action="store_true",
                   help="also run `prisma migrate status` as a one-off task and report pending and failed migrations")
    p.add_argument("--poll-seconds", type=float, default=6.0, metavar="SECONDS",
                   help=f"with --migrations: how often to refresh the status task (not more often than every "
                        f"{MIN_POLL_SECONDS:g} s)")

    p = _command(sub, "migrate", [stack_options(required=False), reading],
                 "database migrations: a one-off task (-s STACK) or a database URL (--database-url)",
                 "With -s: run the stack's migration task definition (`npx prisma migrate deploy`) once on\n"
                 "Fargate on-demand capacity, stream its log lines and exit with the container's exit code\n"
                 "(--status: `prisma migrate status` instead; --resolve-*: mark a migration). Use it after the\n"
                 "first `pulumi up` on an empty database, or to retry a failed migration; `deploy` runs it for\n"
                 "every release. Refuses to start while a secret is missing or empty.\n"
                 "With --database-url (no stack, no AWS): the same with the app's own Prisma CLI against that\n"
                 "database; --check fails when schema.prisma and the migrations disagree.",
                 ["python -m ops migrate -s prod", "python -m ops migrate -s prod --status",
                  "python -m ops migrate -s staging --timeout 1800",
                  "python -m ops migrate --database-url postgresql://app:pw@localhost:5432/app",
                  "python -m ops migrate --check --database-url postgresql://postgres:pw@localhost:5432/scratch"])
    p.add_argument("--timeout", type=float, default=900, metavar="SECONDS",
                   help="how long to wait for the task to stop before giving up")
    p.add_argument("--poll-seconds", type=float, default=6.0, metavar="SECONDS",
                   help=f"how often to refresh the task's state and fetch new log lines (not more often than every "
                        f"{MIN_POLL_SECONDS:g} s)")
    p.add_argument("--database-url", metavar="URL",
                   help="apply app/prisma/migrations to this database with the app's Prisma CLI (no stack, no AWS; "
                        "default: $DATABASE_URL when -s is not given)")
    p.add_argument("--check", action="store_true",
                   help="with --database-url: fail when schema.prisma and the migrations disagree (the URL's server "
                        "hosts a throwaway shadow database)")
    p.add_argument("--status", action="store_true", help="report pending and failed migrations (prisma migrate status)")
    p.add_argument("--resolve-applied", metavar="MIGRATION",
                   help="record a migration as applied without running it (baselining an existing database)")
    p.add_argument("--resolve-rolled-back", metavar="MIGRATION",
                   help="record a failed migration as rolled back, so a fixed one can be applied")
    p.add_argument("--schema", metavar="PATH",
                   help="with --database-url: another schema.prisma (its migrations/ folder beside it) (default: "
                        "app/prisma/schema.prisma)")

    p = _command(sub, "deploy", [target], "release: preflight, image, migrate, roll out, verify",
                 "Release the current commit the way the deployment notes prescribe, stopping at the first\n"
                 "failure: 1/5 preflight (credentials, secrets); 2/5 `pulumi up` of only the image and the\n"
                 "migration task definition; 3/5 migrate with the new image; 4/5 the full `pulumi up` (policy\n"
                 "pack included) that rolls the service out; 5/5 wait until the service is stable and its\n"
                 "health URL answers 200. Until step 4 the running service is untouched. Needs the Pulumi\n"
                 "CLI, Docker and AWS credentials. On a failure or Ctrl-C it says which step it was in and\n"
                 "what that step left behind.",
                 ["python -m ops deploy -s staging", "python -m ops deploy -s prod --health-timeout 900"])
    p.add_argument("--migrate-timeout", type=int, default=900, metavar="SECONDS",
                   help="how long to wait for the migration task (step 3)")
    p.add_argument("--health-timeout", type=int, default=600, metavar="SECONDS",
                   help="how long to wait for a stable service and a 200 from the health URL (step 5)")

    p = _command(sub, "status", [target, reading], "running/desired tasks, deployments, events, target health",
                 "Show the service's running, pending and desired task counts, every deployment with its\n"
                 "rollout state, the last service events and the load balancer's target health. Use it\n"
                 "during and after a rollout; --watch refreshes until Ctrl-C.",
                 ["python -m ops status -s prod", "python -m ops status -s prod --watch --interval 10",
                  "python -m ops status -s staging --outputs outputs.json --json"])
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.add_argument("--watch", action="store_true", help="refresh every --interval seconds until Ctrl-C")
    p.add_argument("--interval", type=float, default=5.0, metavar="SECONDS", help="seconds between refreshes")
    p.add_argument("--count", type=int, metavar="N", help="with --watch: stop after N refreshes (default: "
                                                           "until Ctrl-C)")

    p = _command(sub, "logs", [target, reading], "read or follow the service's CloudWatch logs",
                 "Print the service log group's events since a point in time, optionally only those that\n"
                 "match a CloudWatch Logs filter pattern, and optionally keep following new ones.",
                 ["python -m ops logs -s prod --since 1h --filter ERROR",
                  "python -m ops logs -s staging --since 2026-11-24T10:00 --follow",
                  "python -m ops logs -s prod --filter '\"PrismaClientInitializationError\"' --limit 50"])
    p.add_argument("--since", default="10m", metavar="WHEN",
                   help="start: 30s, 15m, 2h, 1d ago, or an ISO time such as 2026-11-24T10:00 (UTC unless it has "
                        "an offset)")
    p.add_argument("--filter", dest="pattern", metavar="PATTERN",
                   help="CloudWatch Logs filter pattern, e.g. ERROR or '\"connection refused\"' (default: every "
                        "event)")
    p.add_argument("--follow", action="store_true", help="keep printing new events until Ctrl-C")
    p.add_argument("--limit", type=int, metavar="N", help="print at most N events per fetch (default: all)")

    p = _command(sub, "rollback", [target, reading], "back to the previous working release",
                 "Roll the service back to the previous working release: the newest successful deployment in\n"
                 "ECS's history (else the newest earlier ACTIVE revision) that runs another image still in ECR,\n"
                 "or a given digest. By default through Pulumi (imageOverride pinned in Pulumi.<stack>.yaml, then\n"
                 "`pulumi up`), so state never drifts; --now updates the ECS service directly for emergencies.\n"
                 "During a blue/green, canary or linear deployment that is still shifting or baking, ECS's own\n"
                 "rollback (StopServiceDeployment) moves traffic back at once. The pin must be committed (the\n"
                 "command says which file changed); in CI pass --commit.",
                 ["python -m ops rollback -s prod", "python -m ops rollback -s prod --now",
                  "python -m ops rollback -s prod --to-digest sha256:<64 hex digits>",
                  "python -m ops rollback -s prod --commit   # in CI: records the pin as a git commit"])
    p.add_argument("--to-digest", metavar="DIGEST",
                   help="roll back to this image: sha256:<digest> or <repository>@sha256:<digest> (default: the "
                        "previous working release's image)")
    p.add_argument("--now", action="store_true",
                   help="emergency: update the ECS service directly instead of through `pulumi up`")
    p.add_argument("--commit", action="store_true",
                   help="commit Pulumi.<stack>.yaml, which records the rollback (required in CI; push the commit)")

    p = _command(sub, "destroy", [target, reading], "guarded teardown of a whole stack",
                 "Delete every resource of a stack with `pulumi destroy`, after listing them, warning about\n"
                 "running tasks and asking to type DESTROY and the stack name (or --confirm without a\n"
                 "terminal). A protected stack (prod) also needs --unprotect: it sets protect=false and runs\n"
                 "`pulumi up` first, and restores protection (protect=true, `pulumi up`) if the destroy fails.\n"
                 "Secrets keep their 30-day recovery window unless --force-delete-secrets.",
                 ["python -m ops destroy -s staging", "python -m ops destroy -s staging --confirm staging",
                  "python -m ops destroy -s prod --unprotect"])
    p.add_argument("--confirm", metavar="STACK",
                   help="confirm without a terminal by naming the stack again (for scripts and CI)")
    p.add_argument("--unprotect", action="store_true",
                   help="lift a protected stack's protection first (protect=false, then `pulumi up`)")
    p.add_argument("--force-delete-secrets", action="store_true",
                   help="after the destroy, delete the secrets without the 30-day recovery window")
    return parser


def run(args, adapter_factory=PulumiStack, printer=print, ask=input, interactive=None) -> int:
    if args.command == "migrate" and not args.stack:  # a database URL: no stack, no AWS
        from ops.migrate_local import run_local

        return run_local(args, printer)
    from ops import deploy, destroy, logs, migrate, preflight, rollback, status

    adapter = adapter_factory(args.stack)
    if args.command == "deploy":
        outputs = StackOutputs(adapter.outputs(), f"stack {args.stack}'s outputs")
        # A stack's first release has no outputs yet: its region is in Pulumi.<stack>.yaml.
        aws = Aws(args.region or outputs.get("region") or adapter.get_config("aws:region"))
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
    aws = Aws(args.region or outputs.get("region"))
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
        rollback.rollback(aws, outputs, args.stack, printer, adapter=adapter, to_digest=args.to_digest,
                          now=args.now, commit=args.commit)
        return EXIT_OK
    raise OpsError(f"unknown command {args.command}", EXIT_USAGE)


def main(argv: list[str] | None = None, **kwargs) -> int:
    args = build_parser().parse_args(argv)
    errors.enter_step(None)
    try:
        return run(args, **kwargs)
    except (Exception, KeyboardInterrupt) as exc:  # every failure, explained once, in ops/errors.py
        following = getattr(args, "watch", False) or getattr(args, "follow", False)
        if following and type(exc) is KeyboardInterrupt:
            return EXIT_INTERRUPTED  # Ctrl-C is how --watch and --follow end: nothing went wrong
        failure = errors.explain(exc, stack=args.stack)
        print(failure.render(), file=sys.stderr)
        if args.debug:
            traceback.print_exception(exc, file=sys.stderr)
        return failure.code
