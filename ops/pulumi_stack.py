"""The one edge to the Pulumi CLI, through the Automation API. Tests replace this class."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.common import EXIT_USAGE, OpsError

PROJECT_DIR = Path(__file__).resolve().parent.parent
POLICY_PACK = PROJECT_DIR / "policies"
# The pack's thresholds and levels, as CI's `pulumi preview --policy-pack-config` uses them.
POLICY_PACK_CONFIG = POLICY_PACK / "policy-config.example.json"


@dataclass(frozen=True)
class StateResource:
    urn: str
    type: str
    protect: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]

    @property
    def name(self) -> str:
        return self.urn.split("::")[-1]


class PulumiStack:
    def __init__(self, stack: str, work_dir: Path = PROJECT_DIR, printer=print):
        self.stack_name = stack
        self.work_dir = work_dir
        self.printer = printer
        self._stack = None

    @property
    def stack(self):
        if self._stack is None:
            from pulumi import automation as auto

            try:
                self._stack = auto.select_stack(stack_name=self.stack_name, work_dir=str(self.work_dir))
            except FileNotFoundError as exc:
                raise OpsError("the Pulumi CLI is not installed (https://www.pulumi.com/docs/install/); install "
                               "it, or pass --outputs FILE for the commands that only read stack outputs",
                               EXIT_USAGE) from exc
        return self._stack

    def outputs(self) -> dict[str, Any]:
        return {key: output.value for key, output in self.stack.outputs().items()}

    def resources(self) -> list[StateResource]:
        deployment = self.stack.export_stack().deployment or {}
        return [
            StateResource(r["urn"], r["type"], bool(r.get("protect")), r.get("inputs") or {}, r.get("outputs") or {})
            for r in deployment.get("resources", [])
            if r.get("custom") and not r["type"].startswith("pulumi:providers:")
        ]

    def up(self, targets: list[str] | None = None) -> None:
        self.stack.up(
            target=targets, target_dependents=False if targets else None, on_output=self.printer,
            policy_packs=[str(POLICY_PACK)], policy_pack_configs=[str(POLICY_PACK_CONFIG)],
        )

    def set_config(self, key: str, value: str) -> None:
        from pulumi import automation as auto

        self.stack.set_config(key, auto.ConfigValue(value=value, secret=False))

    def destroy(self) -> None:
        self.stack.destroy(on_output=self.printer)
