"""A stack's configuration, assembled the way the Pulumi CLI assembles it.

The project's declared defaults from ``Pulumi.yaml``, overridden by ``Pulumi.<stack>.yaml``, every
value passed to the program as a string and type-checked against its declaration. ``secure:``
values cannot be decrypted offline, so they (and managed secrets not set yet) are replaced by a
placeholder and reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SECRET_PLACEHOLDER = "offline-placeholder-secret-value"

# libyaml's loader (PyYAML's wheels ship it) reads the same documents ~10x faster than the pure-Python one:
# every evaluation of a stack reads Pulumi.yaml and its stack file.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader


class StackFileError(Exception):
    """Pulumi.yaml or a stack file is malformed or a value has the wrong declared type."""


@dataclass
class StackConfig:
    project: str
    config: dict[str, str]  # "<namespace>:<key>" -> string value, as the program sees it
    secret_keys: list[str]  # namespaced keys the program must treat as secrets
    placeholder_secrets: list[str] = field(default_factory=list)  # keys (no namespace) filled with a placeholder
    notes: list[str] = field(default_factory=list)  # what to do before a real `pulumi up`



def load_project(project_dir: Path) -> dict:
    path = project_dir / "Pulumi.yaml"
    try:
        project = read_yaml(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise StackFileError(f"{path}: cannot read the project file: {exc}") from exc
    if not isinstance(project, dict) or "name" not in project:
        raise StackFileError(f"{path}: not a Pulumi project file (no 'name')")
    return project


def _config_string(value: Any) -> str:
    """What the CLI hands the program: primitives formatted as Go's %v does."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _matches_declared_type(type_name: str, text: str) -> bool:
    if type_name == "integer":
        try:
            int(text)
        except ValueError:
            return False
        return True
    if type_name == "boolean":
        return text in ("true", "false")
    return True


def stack_config(
    project_dir: Path, stack: str, overrides: Mapping[str, Any] | None = None
) -> tuple[dict[str, str], list[str], str]:
    """Merged config (namespaced keys -> strings), the secret keys, and the project name."""
    project = load_project(project_dir)
    name = project["name"]
    stack_path = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        raise StackFileError(
            f"{stack_path} does not exist. Fix: pulumi stack init {stack} (and commit Pulumi.{stack}.yaml)"
        )
    try:
        stack_file = read_yaml(stack_path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{stack_path}: invalid YAML: {exc}") from exc

    raw: dict[str, Any] = dict(stack_file.get("config") or {})
    for key, value in (overrides or {}).items():
        raw[key if ":" in key else f"{name}:{key}"] = value

    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = SECRET_PLACEHOLDER
            secret_keys.append(key)
        elif isinstance(value, dict | list):
            raise StackFileError(f"{stack_path}: {key} must be a plain value, not {type(value).__name__}")
        else:
            config[key] = _config_string(value)

    declarations = project.get("config") or {}
    for key, declaration in declarations.items():
        full_key = key if ":" in key else f"{name}:{key}"
        if not isinstance(declaration, dict):
            continue
        type_name = declaration.get("type")
        if full_key in config:
            if type_name and not _matches_declared_type(type_name, config[full_key]):
                raise StackFileError(
                    f"Stack '{stack}' with configuration key '{key}' must be of type '{type_name}' "
                    f"(got {config[full_key]!r} in {stack_path.name})"
                )
        elif "default" in declaration:
            config[full_key] = _config_string(declaration["default"])
        else:
            raise StackFileError(f"Stack '{stack}' is missing configuration value '{key}'")
    return config, secret_keys, name




def with_placeholder_secrets(
    stack: str, config: dict[str, str], secret_keys: list[str], project: str, required: Iterable[str]
) -> StackConfig:
    """Fill the ``required`` secret keys the stack has not set yet, and list every placeholder."""
    config, secret_keys = dict(config), list(secret_keys)
    placeholders = [key.split(":", 1)[1] for key in secret_keys if key.startswith(f"{project}:")]
    notes = []
    for key in required:
        full_key = f"{project}:{key}"
        if full_key not in config:
            config[full_key] = SECRET_PLACEHOLDER
            secret_keys.append(full_key)
            placeholders.append(key)
            notes.append(
                f"secret {key} is not set (planned with a placeholder): "
                f"pulumi config set --secret {key} -s {stack} (the CLI asks for the value without echoing it)"
            )
    return StackConfig(project, config, sorted(set(secret_keys)), placeholders, notes)
