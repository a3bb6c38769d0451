"""What a CI job needs to know about the stacks, read from the repository's own files.

    python -m offline.ci_env stacks               stacks=["prod", "staging"]   (every Pulumi.<stack>.yaml)
    python -m offline.ci_env stack -s staging     stack=staging, region=<aws:region>, pulumi-version=<locked SDK>

The workflows never spell a region or a Pulumi version: the region is the stack file's
`aws:region` (the one the program deploys to, so the AWS credentials and the stack agree) and the
Pulumi CLI is installed at the version of the `pulumi` SDK in uv.lock. Values are written as
`key=value` lines to `$GITHUB_OUTPUT` when it is set (a step's outputs), else to stdout.
Exit codes: 0 ok, 2 a missing or malformed stack file, region or lock entry (the message says which).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
from pathlib import Path

from offline.runtime import PROJECT_DIR
from offline.stack_config import StackFileError, load_project, stack_config


class CiEnvError(Exception):
    pass


def stack_names(project_dir: Path = PROJECT_DIR) -> list[str]:
    load_project(project_dir)  # a folder without a Pulumi project has no stacks to speak of
    names = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))
    if not names:
        raise CiEnvError(f"{project_dir} has no Pulumi.<stack>.yaml. "
                         "Fix: pulumi stack init <stack> and commit the file")
    return names


def locked_version(package: str, lock: Path) -> str:
    try:
        document = tomllib.loads(lock.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CiEnvError(f"{lock}: cannot read the lock file ({exc}). Fix: make lock") from exc
    for entry in document.get("package", []):
        if entry.get("name") == package:
            return entry["version"]
    raise CiEnvError(f"{lock} locks no {package!r}. Fix: add it to pyproject.toml and run make lock")


def stack_facts(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", stack) or stack.startswith("."):
        raise CiEnvError(f"{stack!r} is not a stack name (letters, digits, '-', '_', '.')")
    config, _secret_keys, _project = stack_config(project_dir, stack)
    region = config.get("aws:region", "").strip()
    if not region:
        raise CiEnvError(f"Pulumi.{stack}.yaml has no aws:region. "
                         f"Fix: pulumi config set aws:region <region> -s {stack}")
    return {"stack": stack, "region": region, "pulumi-version": locked_version("pulumi", project_dir / "uv.lock")}


def write_outputs(values: dict[str, str], github_output: str | None) -> str:
    for key, value in values.items():
        if "\n" in value:
            raise CiEnvError(f"{key}: a multi-line value cannot be a step output")
    text = "".join(f"{key}={value}\n" for key, value in values.items())
    if github_output:
        with open(github_output, "a", encoding="utf-8") as handle:
            handle.write(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.ci_env", description=__doc__.splitlines()[0])
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("stacks", help="every stack with a committed Pulumi.<stack>.yaml, as a JSON list")
    one = sub.add_parser("stack", help="one stack's name, region and the Pulumi CLI version to install")
    one.add_argument("-s", "--stack", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "stacks":
            values = {"stacks": json.dumps(stack_names(args.project_dir))}
        else:
            values = stack_facts(args.stack, args.project_dir)
        text = write_outputs(values, os.environ.get("GITHUB_OUTPUT"))
    except (CiEnvError, StackFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
