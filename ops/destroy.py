"""A guarded `pulumi destroy` (deployment notes, section 11)."""

from __future__ import annotations

from collections.abc import Callable

from ops.common import EXIT_USAGE, Aws, OpsError, Printer

SECRET = "aws:secretsmanager/secret:Secret"


def running_tasks(aws: Aws, cluster: str) -> int:
    paginator = aws.ecs.get_paginator("list_tasks")
    try:
        return sum(len(page["taskArns"]) for page in paginator.paginate(cluster=cluster, desiredStatus="RUNNING"))
    except aws.ecs.exceptions.ClusterNotFoundException:
        return 0


def confirm(stack: str, confirmation: str | None, interactive: bool, ask: Callable[[str], str]) -> None:
    if confirmation is not None:
        if confirmation != stack:
            raise OpsError(f"--confirm {confirmation!r} does not name the stack {stack!r}; nothing was deleted",
                           EXIT_USAGE)
        return
    if not interactive:
        raise OpsError(f"refusing to destroy without a terminal; pass --confirm {stack} to confirm explicitly",
                       EXIT_USAGE)
    if ask("Type DESTROY to delete every resource listed above: ").strip() != "DESTROY":
        raise OpsError("not confirmed; nothing was deleted", EXIT_USAGE)
    if ask(f"Type the stack name ({stack}) to confirm: ").strip() != stack:
        raise OpsError("stack name not confirmed; nothing was deleted", EXIT_USAGE)


def restore_protection(adapter, stack: str, printer: Printer, interrupted: bool) -> str:
    """After a failed unprotect-and-destroy: protect=true again and, unless the operator pressed Ctrl-C,
    `pulumi up` so the remaining resources are protected again. Returns what it did, for the error."""
    printer("the teardown stopped: restoring protection (pulumi config set protect true && pulumi up)")
    manual = f"`pulumi config set protect true -s {stack} && pulumi up -s {stack}`"
    try:
        adapter.set_config("protect", "true")
        if interrupted:
            return (f"protect=true is set again, but the resources stay unprotected until `pulumi up -s {stack}` "
                    "runs (it also recreates what the destroy already deleted)")
        adapter.up()
    except (Exception, KeyboardInterrupt) as exc:
        return (f"restoring protection failed too ({type(exc).__name__}): stack {stack} is UNPROTECTED; run "
                f"{manual}")
    return (f"protection restored: protect=true and `pulumi up` protected stack {stack} again (recreating what the "
            "destroy had already deleted)")


def destroy(adapter, aws: Aws, stack: str, printer: Printer, *, confirmation: str | None, interactive: bool,
            ask: Callable[[str], str], unprotect: bool = False, force_delete_secrets: bool = False) -> None:
    resources = adapter.resources()
    if not resources:
        raise OpsError(f"stack {stack} has no resources; nothing to destroy", EXIT_USAGE)
    printer(f"`pulumi destroy -s {stack}` will delete {len(resources)} resources:")
    for r in sorted(resources, key=lambda r: r.type):
        printer(f"  {r.type.split(':')[-1]:<28} {r.name}{'  [protected]' if r.protect else ''}")
    clusters = [r.outputs.get("name") for r in resources if r.type == "aws:ecs/cluster:Cluster"]
    tasks = sum(running_tasks(aws, c) for c in clusters if c)
    if tasks:
        printer(f"WARNING: {tasks} task(s) are running and will be stopped: the service goes offline.")
    secrets = [r.outputs.get("name") for r in resources if r.type == SECRET]
    if force_delete_secrets:
        printer(f"--force-delete-secrets: {len(secrets)} secrets are deleted WITHOUT the 30-day recovery window.")
    else:
        printer(f"{len(secrets)} secrets keep their 30-day recovery window (aws secretsmanager restore-secret).")
    protected = [r for r in resources if r.protect]
    if protected and not unprotect:
        raise OpsError(f"{len(protected)} resources are protected (prod): rerun with --unprotect to lift the "
                       "protection explicitly; nothing was deleted", EXIT_USAGE)
    confirm(stack, confirmation, interactive, ask)
    if not protected:
        adapter.destroy()
    else:
        # Through the program, so state and AWS agree: `protect: false` unprotects the secrets, turns
        # off the ALB's deletion protection and lets ECR delete a repository that still has images.
        printer("lifting protection: pulumi config set protect false && pulumi up")
        adapter.set_config("protect", "false")
        try:
            adapter.up()
            adapter.destroy()
        except (Exception, KeyboardInterrupt) as exc:
            exc.add_note(restore_protection(adapter, stack, printer, interrupted=isinstance(exc, KeyboardInterrupt)))
            raise
    printer(f"stack {stack} destroyed. External databases (Neon, Aiven) are untouched.")
    if force_delete_secrets:
        # After the destroy, never before: if `pulumi destroy` fails half-way the service still runs and
        # still needs its secrets. The destroy leaves them scheduled for deletion; Secrets Manager accepts
        # ForceDeleteWithoutRecovery on a secret in that state.
        for name in secrets:
            try:
                aws.secretsmanager.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
            except aws.secretsmanager.exceptions.ResourceNotFoundException:
                continue
            printer(f"  force-deleted secret {name}")
