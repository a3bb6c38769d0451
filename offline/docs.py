"""Generated README sections, so the docs cannot drift from the code.

    python -m offline.docs --check README.md   # exit 1 when a generated block is stale
    python -m offline.docs --write README.md   # rewrite the generated blocks (and Pulumi.yaml's config:)
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from infra.config import SECRET_SPECS, SETTINGS

PACK_DIR = Path(__file__).resolve().parent.parent / "policies"


def config_table() -> str:
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        default = ("true" if s.default else "false") if isinstance(s.default, bool) else s.default
        default = f"`{default}`" if default != "" else "(empty)"
        rows.append(f"| `{s.key}` | {s.type} | {default} | {s.description.replace('|', '/')} |")
    for _env, config_key in SECRET_SPECS.values():
        rows.append(
            f"| `{config_key}` | secret string | (none) | Value of `{_env}` in `managed` secrets mode: "
            f"`pulumi config set --secret {config_key} ...` |"
        )
    return "\n".join(rows)


def policy_table() -> str:
    """The pack's own metadata: name, enforcement level, severity, guideline."""
    if str(PACK_DIR) not in sys.path:
        sys.path.insert(0, str(PACK_DIR))
    from guardrails import all_policies

    rows = ["| policy | level | severity | guideline and fix |", "| --- | --- | --- | --- |"]
    for policy in all_policies():
        level = policy.enforcement_level.value if policy.enforcement_level else "mandatory"
        severity = policy.severity.value if policy.severity else ""
        rows.append(f"| `{policy.name}` | {level} | {severity} | {policy.description.replace('|', '/')} |")
    return "\n".join(rows)


GENERATORS: dict[str, Callable[[], str]] = {"config-table": config_table, "policy-table": policy_table}


def project_config_declarations() -> str:
    """Pulumi.yaml's `config:` block, generated from the typed settings (the CLI reads the file)."""
    def scalar(value) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value) if isinstance(value, int) else '"' + value + '"'

    lines = ["config:"]
    for s in SETTINGS:
        description = s.description.replace("\\", "\\\\").replace('"', '\\"')
        lines += [f"  {s.key}:", f"    type: {s.type}", f"    default: {scalar(s.default)}",
                  f'    description: "{description}"']
    return "\n".join(lines) + "\n"


def render_project_file(text: str) -> str:
    """Replace everything from the top-level `config:` key on (it is the file's last block)."""
    head, separator, _ = text.partition("\nconfig:\n")
    if not separator:
        raise ValueError("Pulumi.yaml has no top-level `config:` block")
    return head + "\n" + project_config_declarations()


def render(text: str, generators: dict[str, Callable[[], str]] = GENERATORS) -> str:
    for marker, generate in generators.items():
        pattern = re.compile(rf"(<!-- {marker}:start -->\n)(?:.*?\n)?(<!-- {marker}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"README has no <!-- {marker}:start --> ... <!-- {marker}:end --> block")
        text = pattern.sub(lambda m, g=generate: m.group(1) + g() + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.docs")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", metavar="README", type=Path)
    action.add_argument("--write", metavar="README", type=Path)
    args = parser.parse_args(argv)
    path = args.check or args.write
    project_file = path.parent / "Pulumi.yaml"
    stale = []
    for target, renderer in ((path, render), (project_file, render_project_file)):
        current = target.read_text()
        fresh = renderer(current)
        if args.write:
            target.write_text(fresh)
        elif fresh != current:
            stale.append(str(target))
    if stale:
        print(f"{', '.join(stale)} stale: run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
