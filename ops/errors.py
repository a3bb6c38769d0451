"""The one place that decides what an operator reads when a command fails.

Commands raise what happened — their own OpsError, botocore's exceptions, the Automation API's
CommandError, KeyboardInterrupt — and `ops.cli.main` hands it to `explain()`, which returns a
`Failure`: the cause, what state the command left (for `deploy`, the step it was in), the fix, and
an exit code from `EXIT_CODES` (the README's table). No Python traceback unless `--debug`.

Code that knows more than the exception adds it with `exc.add_note(...)` (PEP 678) and re-raises;
notes are printed with the failure (`destroy` says whether it restored protection this way).
"""

from __future__ import annotations

import contextvars
import re
import sys
from dataclasses import dataclass, field, replace

import botocore.exceptions as boto

from ops import environment
from ops.common import (
    EXIT_ACCESS_DENIED,
    EXIT_AWS_CONFIG,
    EXIT_FAILED,
    EXIT_GONE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PULUMI,
    EXIT_THROTTLED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    OpsError,
)
from ops.pulumi_stack import PulumiInterrupted

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_FAILED: "a check or step failed: a preflight FAIL, a migration that failed (`migrate` exits with the "
                 "container's own code when it ran), a service that did not become stable or healthy, an AWS "
                 "error not listed below",
    EXIT_USAGE: "usage or input error: a bad option, a missing stack output, an unconfirmed `destroy`, no Pulumi CLI, "
                "a Python without the project's packages (not .venv/bin/python)",
    EXIT_AWS_CONFIG: "AWS credentials or region missing, invalid or expired",
    EXIT_UNREACHABLE: "an AWS endpoint could not be reached (network, proxy, region, `AWS_ENDPOINT_URL`)",
    EXIT_ACCESS_DENIED: "AWS denied an action to the identity the command runs as",
    EXIT_THROTTLED: "AWS kept throttling after botocore's standard-mode retries",
    EXIT_GONE: "a resource the stack outputs name is gone (cluster, service, target group, log group, ...)",
    EXIT_PULUMI: "the Pulumi CLI failed (update error, stack locked by another update, unknown stack, not logged "
                 "in); its last lines are shown",
    EXIT_INTERNAL: "a bug in the ops commands; `--debug` prints the traceback",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); `deploy` says which step it was in and what it left",
}

_ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException",
                  "AuthorizationError", "Forbidden"}
_BAD_CREDENTIALS = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "AuthFailure",
                    "InvalidAccessKeyId", "InvalidSignatureException", "IncompleteSignature",
                    "MissingAuthenticationToken"}
_EXPIRED_CREDENTIALS = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
# The codes botocore's standard retry mode treats as throttling, except LimitExceededException, which
# ECS and others also use for quotas (a retry does not help there, so it is reported as a plain error).
_THROTTLING = {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
               "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
               "RequestLimitExceeded", "BandwidthLimitExceeded", "RequestThrottled", "SlowDown",
               "PriorRequestNotComplete", "EC2ThrottledException"}
# Error code -> (what is gone, the request parameters that name it).
_GONE = {
    "ClusterNotFoundException": ("ECS cluster", ("cluster",)),
    "ServiceNotFoundException": ("ECS service", ("service", "services")),
    "ServiceNotActiveException": ("ECS service", ("service", "services")),
    "TargetGroupNotFound": ("target group", ("TargetGroupArn",)),
    "LoadBalancerNotFound": ("load balancer", ("LoadBalancerArn",)),
    "RepositoryNotFoundException": ("ECR repository", ("repositoryName",)),
    "ResourceNotFoundException": ("resource", ("logGroupName", "SecretId")),
}
_GONE_BY_PARAMETER = {"logGroupName": "log group", "SecretId": "secret"}
_CREDENTIAL_EXCEPTIONS = tuple(getattr(boto, name) for name in (
    "NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "TokenRetrievalError",
    "SSOTokenLoadError", "UnauthorizedSSOTokenError", "SSOError", "NoAuthTokenError") if hasattr(boto, name))
_UNREACHABLE_REASONS = ((boto.ProxyConnectionError, "the proxy refused or did not answer"),
                        (boto.SSLError, "the TLS handshake failed"),
                        (boto.ConnectTimeoutError, "the connection timed out"),
                        (boto.ReadTimeoutError, "no answer within the read timeout"),
                        (boto.ConnectionClosedError, "the connection was closed"),
                        (boto.ConnectionError, "the connection failed"),
                        (boto.HTTPClientError, "the HTTP exchange failed"))
_UNREACHABLE = tuple(kind for kind, _ in _UNREACHABLE_REASONS)
_CREDENTIALS_FIX = ("configure credentials for the target account: `aws configure`, `aws sso login --profile P` "
                    "with AWS_PROFILE=P, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; `aws sts get-caller-identity` "
                    "checks them")


@dataclass(frozen=True)
class Step:
    """A step of a multi-step command, and what a failure or Ctrl-C during it leaves behind."""

    label: str
    state: str
    fix: str


@dataclass(frozen=True)
class Failure:
    code: int
    cause: str
    fix: str = ""
    state: str = ""
    details: tuple[str, ...] = ()  # e.g. the Pulumi CLI's last lines
    notes: tuple[str, ...] = field(default=())

    def render(self) -> str:
        lines = [f"error: {self.cause}"]
        lines += [f"  | {line}" for line in self.details]
        if self.state:
            lines.append(f"  state: {self.state}")
        lines += [f"  note: {note}" for note in self.notes]
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


_current_step: contextvars.ContextVar[Step | None] = contextvars.ContextVar("ops_step", default=None)


def enter_step(step: Step | None) -> None:
    """Record the step a command is in; a failure keeps it so the message can say where it stopped."""
    _current_step.set(step)


def explain(exc: BaseException, stack: str | None = None) -> Failure:
    failure = _classify(exc, stack or "<stack>")
    step = _current_step.get()
    if step is not None:
        failure = _during(failure, step, own_message=isinstance(exc, OpsError))
    notes = tuple(getattr(exc, "__notes__", ()))
    return replace(failure, notes=failure.notes + notes) if notes else failure


def _during(failure: Failure, step: Step, own_message: bool) -> Failure:
    if failure.code == EXIT_INTERRUPTED:
        cause, found = re.subn(r"^interrupted \(Ctrl-C[^)]*\)", lambda m: f"{m[0]} during step {step.label}",
                               failure.cause)
        if not found:  # a command's own message about its interruption
            cause = f"interrupted (Ctrl-C) during step {step.label}: {failure.cause}"
    else:
        cause = f"step {step.label}: {failure.cause}"
    if failure.code == EXIT_INTERRUPTED or (failure.code == EXIT_PULUMI and not failure.state):
        # Where the step stopped decides what is left and how to recover, not the interruption itself.
        return replace(failure, cause=cause, state=step.state, fix=step.fix)
    if own_message:  # the command's own message already says what it left
        return replace(failure, cause=cause)
    return replace(failure, cause=cause, state=failure.state or step.state, fix=failure.fix or step.fix)


def _gone_fix(stack: str) -> str:
    return (f"it was deleted or replaced outside this command: `pulumi refresh -s {stack}` shows the drift and "
            f"`pulumi up -s {stack}` recreates it; or check --region and that --outputs is current")


def _classify(exc: BaseException, stack: str) -> Failure:
    if isinstance(exc, OpsError):
        return Failure(exc.exit_code, str(exc), _gone_fix(stack) if exc.exit_code == EXIT_GONE else "")
    if isinstance(exc, PulumiInterrupted):
        return _pulumi_interrupted(exc, stack)
    if isinstance(exc, KeyboardInterrupt):
        return Failure(EXIT_INTERRUPTED, "interrupted (Ctrl-C)")
    if _is_pulumi_command_error(exc):
        return _pulumi_failure(exc, stack)
    if isinstance(exc, boto.ClientError):
        return _client_error(exc.response, exc.operation_name, stack)
    if isinstance(exc, boto.WaiterError) and "Error" in (exc.last_response or {}):
        return _client_error(exc.last_response, exc.name, stack)  # an AWS error seen by a waiter
    if isinstance(exc, boto.NoRegionError):
        return Failure(EXIT_AWS_CONFIG, "no AWS region: the stack outputs name none and no AWS_REGION or profile "
                                        "region is set", "pass --region eu-central-1 (the stack's region), or set "
                                                         "AWS_REGION")
    if isinstance(exc, boto.ProfileNotFound):
        return Failure(EXIT_AWS_CONFIG, f"AWS profile not found: {exc}",
                       "fix AWS_PROFILE (`aws configure list-profiles` lists them) or unset it")
    if isinstance(exc, _CREDENTIAL_EXCEPTIONS):
        return Failure(EXIT_AWS_CONFIG, f"no usable AWS credentials: {exc}", _CREDENTIALS_FIX)
    if isinstance(exc, _UNREACHABLE):
        endpoint = getattr(exc, "kwargs", {}).get("endpoint_url") or "the AWS endpoint"
        how = next(text for kind, text in _UNREACHABLE_REASONS if isinstance(exc, kind))
        return Failure(EXIT_UNREACHABLE, f"cannot reach {endpoint}: {how}, also after botocore's standard retries",
                       "check the network, VPN or proxy (HTTPS_PROXY), that the region is the stack's, and "
                       "AWS_ENDPOINT_URL if it is set; then rerun")
    if isinstance(exc, boto.ParamValidationError):
        return Failure(EXIT_USAGE, f"invalid AWS request parameters: {exc}",
                       "check the option values (digests, names) you passed")
    if isinstance(exc, boto.WaiterError):
        return Failure(EXIT_FAILED, f"gave up waiting: {exc}", "see `python -m ops status -s " + stack + "`")
    if _is_pulumi_version_error(exc):
        return Failure(EXIT_PULUMI, f"the Pulumi CLI cannot be used: {exc}",
                       "install or upgrade the Pulumi CLI (https://www.pulumi.com/docs/install/)")
    if (missing := environment.missing_dependency(exc)) is not None:
        return Failure(EXIT_USAGE, missing, environment.ENVIRONMENT_FIX)
    if isinstance(exc, boto.BotoCoreError):
        return Failure(EXIT_FAILED, f"AWS SDK error: {exc}", "rerun with --debug and report it if the cause is unclear")
    return Failure(EXIT_INTERNAL, f"unexpected {type(exc).__name__}: {exc}",
                   "this is a bug in the ops commands: rerun with --debug and report the traceback")


# ----------------------------------------------------------------------------- AWS API errors


def _client_error(response: dict, operation: str, stack: str) -> Failure:
    error = response.get("Error", {})
    code, message = str(error.get("Code", "")), str(error.get("Message", "")).strip()
    request = response.get("OpsRequest", {})
    action = request.get("action") or operation
    region = request.get("region") or "its region"
    parameters = request.get("parameters", {})
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    attempts = response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
    said = f"{code}: {message}" if message else code

    if code in _EXPIRED_CREDENTIALS:
        return Failure(EXIT_AWS_CONFIG, f"the AWS credentials have expired ({said})",
                       "refresh them (`aws sso login`, a new session or role assumption) and rerun")
    if code in _BAD_CREDENTIALS:
        return Failure(EXIT_AWS_CONFIG, f"AWS rejected the credentials for {action} ({said})", _CREDENTIALS_FIX)
    if code in _ACCESS_DENIED or (status == 403 and code not in _GONE):
        return Failure(EXIT_ACCESS_DENIED, f"AWS denied {action} ({said})",
                       f"allow {action} on the stack's resources in the IAM policy of the identity you run as "
                       "(`aws sts get-caller-identity` shows it), or use a role that has it")
    if code in _THROTTLING or status == 429:
        return Failure(EXIT_THROTTLED, f"AWS throttled {action} ({said}) after {attempts} attempts with "
                                       "botocore's standard retry mode",
                       "wait a minute and rerun (another tool may be polling the same API); AWS_MAX_ATTEMPTS=10 "
                       "retries longer")
    if code in _GONE:
        what, keys = _GONE[code]
        name = next((parameters[k] for k in keys if k in parameters), None)
        if code == "ResourceNotFoundException":
            what = next((_GONE_BY_PARAMETER[k] for k in keys if k in parameters), what)
        if isinstance(name, list):
            name = ", ".join(map(str, name))
        named = f"{what} {name}" if name else what
        return Failure(EXIT_GONE, f"{named} does not exist in {region} ({action}: {said})", _gone_fix(stack))
    return Failure(EXIT_FAILED, f"AWS refused {action} ({said})",
                   "the AWS message above names the cause; fix it and rerun")


# ----------------------------------------------------------------------------- Pulumi


def _is_pulumi_command_error(exc: BaseException) -> bool:
    errors = sys.modules.get("pulumi.automation.errors")  # never imported: cannot be one of its errors
    return errors is not None and isinstance(exc, errors.CommandError)


def _is_pulumi_version_error(exc: BaseException) -> bool:
    errors = sys.modules.get("pulumi.automation.errors")
    return errors is not None and isinstance(exc, errors.InvalidVersionError)


_COMMAND_RESULT = re.compile(r"^\n code: (?P<code>-?\d+)\n stdout: (?P<stdout>.*)\n stderr: (?P<stderr>.*)$", re.S)


def cli_output(exc: BaseException) -> tuple[int | None, str, str]:
    """Exit code, stdout and stderr of a failed CLI run: a CommandError keeps them only in its text."""
    match = _COMMAND_RESULT.match(str(exc))
    if not match:
        return None, "", str(exc)
    return int(match["code"]), match["stdout"], match["stderr"]


def cli_last_lines(stdout: str, stderr: str, limit: int = 8) -> tuple[str, ...]:
    """What the CLI said about the failure: its stderr, else the Diagnostics section of its stdout
    (where `pulumi up` prints resource errors), else the end of its stdout."""
    def clip(line: str) -> str:
        return line if len(line) <= 300 else line[:297] + "..."

    errors = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    if errors:
        return tuple(clip(line) for line in errors[-limit:])
    lines = stdout.splitlines()
    if "Diagnostics:" in (line.strip() for line in lines):
        start = next(i for i, line in enumerate(lines) if line.strip() == "Diagnostics:") + 1
        section = []
        for line in lines[start:]:
            if line.strip() and not line.startswith(" "):  # the next section (Outputs:, Resources:, ...)
                break
            if line.strip():
                section.append(clip(line.rstrip()[2:] if line.startswith("  ") else line.rstrip()))
        return tuple(section[:limit])
    return tuple(clip(line.rstrip()) for line in [line for line in lines if line.strip()][-limit:])


def _pulumi_failure(exc: BaseException, stack: str) -> Failure:
    code, stdout, stderr = cli_output(exc)
    details = cli_last_lines(stdout, stderr)
    kind = type(exc).__name__
    said = "\n".join(details)
    if kind == "ConcurrentUpdateError":
        return Failure(EXIT_PULUMI, f"another Pulumi update is running on stack {stack}, or a killed one left its lock",
                       f"wait for it to finish; if none is running, `pulumi cancel -s {stack}` releases the lock",
                       state="this run did not change the stack", details=details)
    if kind == "StackNotFoundError":
        return Failure(EXIT_PULUMI, f"the Pulumi backend you are logged into has no stack {stack}",
                       f"`pulumi whoami -v` shows the backend and `pulumi stack ls` its stacks: `pulumi login "
                       f"<backend>` for the right one, or `pulumi stack init {stack}`",
                       state="nothing was changed", details=details)
    if "PULUMI_ACCESS_TOKEN" in said or "pulumi login" in said:
        return Failure(EXIT_PULUMI, "the Pulumi CLI is not logged in to a backend",
                       "`pulumi login` (or `pulumi login s3://<state-bucket>`), or set PULUMI_ACCESS_TOKEN in CI",
                       state="nothing was changed", details=details)
    return Failure(EXIT_PULUMI, f"the Pulumi CLI failed (exit code {code})" if code is not None
                   else "the Pulumi CLI failed",
                   f"fix what the CLI reports and rerun; `pulumi refresh -s {stack}` reconciles the state if the "
                   "update stopped half-way", details=details)


def _pulumi_interrupted(exc: PulumiInterrupted, stack: str) -> Failure:
    if exc.finished:
        cause = f"interrupted (Ctrl-C) after `pulumi {exc.operation}` had completed its update"
        fix = "rerun the command to do the remaining steps"
    elif exc.graceful:
        cause = f"interrupted (Ctrl-C): `pulumi {exc.operation}` cancelled its update cleanly (operations in flight " \
                "finished, nothing is left pending)"
        fix = f"`pulumi refresh -s {stack}` shows where the stack stands; rerun the command to finish"
    else:
        cause = f"interrupted (Ctrl-C twice): `pulumi {exc.operation}` was stopped in the middle of its update"
        fix = (f"`pulumi cancel -s {stack}` if the next update reports the stack locked or an update in progress, "
               f"then `pulumi refresh -s {stack}` in a terminal (it clears the operations left pending)")
    return Failure(EXIT_INTERRUPTED, cause, fix, details=exc.details)
