"""The bootstrap stack's configuration: one typed, validated place.

Every key is declared once in ``SETTINGS`` (type, default, description, validation);
``bootstrap/Pulumi.yaml`` declares the same keys for the CLI and a test keeps the two in sync; a
key under the project's namespace that is not one of them (a typo the CLI accepts, whose value would
never be read) is refused by the main program's check, ``infra/config_keys.py``. Problems are
collected and raised together as one ``ConfigError`` before any resource is created, each naming the
key, the value and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.config_keys import configured_keys, unknown_key_problems

# GitHub's own limits: owners (users and organisations) are 1-39 alphanumerics or single hyphens,
# never starting or ending with one; repository names are 1-100 of [A-Za-z0-9._-]. The OIDC `sub`
# claim carries them exactly, and IAM compares case-sensitively.
_GITHUB_OWNER = re.compile(r"^(?!-)(?!.*--)[A-Za-z0-9-]{1,39}(?<!-)$")
_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
# S3 general purpose bucket names (docs: "Bucket naming rules").
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_OIDC_PROVIDER_ARN = re.compile(
    r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
# A stack name that can also be part of a KMS alias (alias/<deployedProject>-<stack>-secrets): Pulumi allows
# letters, digits, '-', '_' and '.', a KMS alias name only letters, digits, '/', '_' and '-'.
_STACK = re.compile(r"^[A-Za-z0-9_-]{1,100}$")

GITHUB_ENVIRONMENTS = ("staging", "production")  # the environments deploy.yml's jobs name


class ConfigError(pulumi.RunError):
    """Invalid bootstrap configuration. RunError makes the CLI print the message without a trace."""

    def __init__(self, problems: list[str], stack: str):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"Invalid configuration for bootstrap stack '{stack}' ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}); nothing was created:\n{lines}"
        )


@dataclass(frozen=True)
class Setting:
    key: str
    type: str  # "integer" | "string" | "boolean", as Pulumi.yaml declares it
    default: Any  # None: required, the CLI refuses to run without it
    description: str
    check: Callable[[Any], str | None] | None = None  # returns what is allowed, or None if ok


def _github_repository(value: str) -> str | None:
    owner, slash, name = value.partition("/")
    if slash and _GITHUB_OWNER.match(owner) and _GITHUB_REPOSITORY.match(name) and name not in (".", ".."):
        return None
    return "<owner>/<repository> exactly as GitHub spells it (for example my-org/truecaller-backend)"


def _between(low: int, high: int) -> Callable[[int], str | None]:
    return lambda v: None if low <= v <= high else f"an integer from {low} to {high}"


def _optional(pattern: re.Pattern[str], shape: str) -> Callable[[str], str | None]:
    return lambda v: None if v == "" or pattern.match(v) else f"empty or {shape}"


def _bucket_name(value: str) -> str | None:
    if value == "":
        return None
    if not _BUCKET.match(value) or ".." in value or value.startswith("xn--") or value.endswith("-s3alias"):
        return "empty (derived name) or an S3 bucket name: 3-63 lowercase letters, digits, '-' and '.'"
    return None


def stack_list(value: str) -> tuple[str, ...]:
    """`staging, prod` -> ("staging", "prod"); an empty string is no stack."""
    return tuple(name.strip() for name in value.split(",")) if value.strip() else ()


def _stacks(*, empty: bool) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        names = stack_list(value)
        if (not names and not empty) or not all(_STACK.match(n) for n in names) or len(set(names)) != len(names):
            return (("empty or " if empty else "") + "a comma-separated list of distinct stack names (letters, "
                    "digits, '-' and '_', the characters a KMS alias allows), for example staging,prod")
        return None
    return check


SETTINGS: tuple[Setting, ...] = (
    Setting("githubRepository", "string", None,
            "GitHub repository (<owner>/<name>) whose workflows may assume the CI roles.", _github_repository),
    Setting("deployedProject", "string", "truecaller-backend",
            "Pulumi project name of the main program: prefix of its resource names, IAM path, "
            "secret paths and state objects.",
            lambda v: None if _PROJECT.match(v) else "3-32 lowercase letters, digits and '-'"),
    Setting("stateBucketName", "string", "",
            "S3 bucket for Pulumi state (empty: <deployedProject>-pulumi-state-<account>-<region>).", _bucket_name),
    Setting("noncurrentVersionDays", "integer", 90,
            "Days a replaced or deleted state object version is kept before S3 expires it.", _between(1, 3650)),
    Setting("keyDeletionWindowDays", "integer", 30,
            "Days KMS waits before deleting the key after a destroy (7-30).", _between(7, 30)),
    Setting("existingOidcProviderArn", "string", "",
            "ARN of the account's existing GitHub OIDC provider (an account has at most one per URL); "
            "empty: create it.",
            _optional(_OIDC_PROVIDER_ARN,
                      "arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com")),
    Setting("hostedZoneId", "string", "",
            "Route 53 hosted zone of the API's domain: the deploy role may write its A/AAAA/CNAME records "
            "(empty: no Route 53 rights, for stacks without a domain or with DNS elsewhere).",
            _optional(_HOSTED_ZONE_ID, "a Route 53 hosted zone ID such as Z0123456789ABC")),
    Setting("stacks", "string", "staging,prod",
            "The main program's stacks (comma-separated): each gets its own KMS key for its secrets, "
            "alias/<deployedProject>-<stack>-secrets.", _stacks(empty=False)),
    Setting("previewStacks", "string", "staging",
            "The stacks (comma-separated, among stacks) whose secrets pull-request previews may decrypt: "
            "they get a `pulumi preview` in AWS on every pull request; empty: none.", _stacks(empty=True)),
    Setting("protect", "boolean", True,
            "Protect the state bucket and the KMS keys from `pulumi destroy` (lift deliberately)."),
)

SETTINGS_BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class BootstrapConfig:
    project: str  # the bootstrap's own Pulumi project
    stack: str
    github_repository: str
    deployed_project: str
    state_bucket_name: str
    noncurrent_version_days: int
    key_deletion_window_days: int
    existing_oidc_provider_arn: str
    hosted_zone_id: str
    stacks: tuple[str, ...]
    preview_stacks: tuple[str, ...]
    protect: bool

    @property
    def tags(self) -> dict[str, str]:
        return {"project": self.deployed_project, "environment": self.stack, "managed-by": "pulumi"}

    @property
    def iam_path(self) -> str:
        """Path of the CI roles and their policies: outside the main program's own path
        (/<deployedProject>/), so the deploy role can never edit the roles CI itself runs as."""
        return "/github-actions/"

    @property
    def github_subjects(self) -> dict[str, list[str]]:
        """The OIDC `sub` claims each role trusts (GitHub's default claim format)."""
        repo = f"repo:{self.github_repository}"
        return {
            "preview": [f"{repo}:pull_request"],
            "deploy": [f"{repo}:environment:{env}" for env in GITHUB_ENVIRONMENTS],
        }

    @staticmethod
    def derived_bucket_name(deployed_project: str, account: str, region: str) -> str:
        return f"{deployed_project}-pulumi-state-{account}-{region}"

    def bucket_name(self, account: str, region: str) -> str:
        return self.state_bucket_name or self.derived_bucket_name(self.deployed_project, account, region)


def _preview_stacks_problem(values: Mapping[str, Any], project: str, stack: str) -> str | None:
    """previewStacks must name stacks that have a key: a preview of any other stack could decrypt nothing."""
    stacks, previews = stack_list(values["stacks"]), stack_list(values["previewStacks"])
    strangers = [name for name in previews if name not in stacks]
    if not strangers:
        return None
    kept = ",".join(name for name in previews if name in stacks) or "''"
    return (f"{project}:previewStacks = {values['previewStacks']!r} names {', '.join(strangers)}, not in "
            f"stacks ({', '.join(stacks)}): only a stack with its own key can be previewed. Fix: pulumi config set "
            f"previewStacks {kept} -s {stack}, or add "
            f"{', '.join(strangers)} to stacks (pulumi config set stacks {','.join((*stacks, *strangers))} -s {stack})")


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _parse(setting: Setting, raw: str) -> tuple[Any, str | None]:
    """Parse a CLI config string (the CLI passes every value as a string)."""
    if setting.type == "integer":
        if re.fullmatch(r"-?\d+", raw.strip()):
            return int(raw), None
        return None, "an integer"
    if setting.type == "boolean":
        if raw in ("true", "false"):
            return raw == "true", None
        return None, "true or false"
    return raw, None


# S3's limit on a bucket name, and the length of the account ID in the derived one.
BUCKET_NAME_MAX = 63
ACCOUNT_ID_LENGTH = 12


def _derived_bucket_name_problem(values: Mapping[str, Any], region: str | None, project: str,
                                 stack: str) -> str | None:
    """The derived state bucket name (no stateBucketName) is longer than S3 allows: deployedProject's own
    limit cannot know the region's length."""
    if values.get("stateBucketName") or not region:
        return None
    derived = BootstrapConfig.derived_bucket_name(values["deployedProject"], "0" * ACCOUNT_ID_LENGTH, region)
    if len(derived) <= BUCKET_NAME_MAX:
        return None
    return (f"{project}:deployedProject = {values['deployedProject']!r} makes the state bucket name "
            f"<deployedProject>-pulumi-state-<account>-{region} {len(derived)} characters long; S3 allows "
            f"{BUCKET_NAME_MAX}. Fix: pulumi config set stateBucketName <3-{BUCKET_NAME_MAX} characters> -s {stack}, "
            f"or a deployedProject of at most {len(values['deployedProject']) - len(derived) + BUCKET_NAME_MAX} "
            "characters")


def parse_config(raw: Mapping[str, str], *, project: str, stack: str, region: str | None = None,
                 unknown_keys: Iterable[str] = ()) -> BootstrapConfig:
    """Validate raw config strings (keys without namespace) and refuse ``unknown_keys``, the keys the stack
    sets that no setting reads; raises ``ConfigError`` listing every problem. ``region`` (the stack's
    aws:region, when set) lets the derived bucket name be checked too."""
    problems = unknown_key_problems(unknown_keys, known=SETTINGS_BY_KEY, project=project, stack=stack)
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        text = raw.get(setting.key)
        if text is None:
            if setting.default is None:
                problems.append(f"{project}:{setting.key} is not set. "
                                f"Fix: pulumi config set {setting.key} <value> -s {stack} ({setting.description})")
            values[setting.key] = setting.default
            continue
        value, expected = _parse(setting, text)
        if expected is None and setting.check is not None:
            expected = setting.check(value)
        if expected is not None:
            problems.append(f"{project}:{setting.key} = {text!r} is invalid: expected {expected}. "
                            f"Fix: pulumi config set {setting.key} <value> -s {stack}")
            value = setting.default
        values[setting.key] = value
    if not problems and (too_long := _derived_bucket_name_problem(values, region, project, stack)):
        problems.append(too_long)
    if not problems and (stranger := _preview_stacks_problem(values, project, stack)):
        problems.append(stranger)
    if problems:
        raise ConfigError(problems, stack)
    values["stacks"], values["previewStacks"] = stack_list(values["stacks"]), stack_list(values["previewStacks"])
    return BootstrapConfig(project=project, stack=stack, **{_snake(k): v for k, v in values.items()})


def load_config() -> BootstrapConfig:
    """Read and validate the running stack's configuration (call before creating resources)."""
    from pulumi.runtime import config as runtime_config

    project, stack = pulumi.get_project(), pulumi.get_stack()
    raw = {s.key: runtime_config.get_config(f"{project}:{s.key}") for s in SETTINGS}
    return parse_config({k: v for k, v in raw.items() if v is not None}, project=project, stack=stack,
                        unknown_keys=configured_keys(project), region=runtime_config.get_config("aws:region"))
