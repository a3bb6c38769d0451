"""The one edge to the Pulumi CLI, through the Automation API. Tests replace this class.

Failures are not translated here: the Automation API's CommandError (and its subclasses such as
ConcurrentUpdateError) carries the CLI's output, and ops/errors.py turns it into the message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.common import EXIT_USAGE, OpsError, second_ctrl_c_interrupts

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


class PulumiInterrupted(KeyboardInterrupt):
    """Ctrl-C while the CLI was updating the stack. ``graceful``: the CLI cancelled its update and
    exited on its own (``finished``: too late to cancel, the update completed); otherwise it was left
    in the middle of the update (Ctrl-C twice)."""

    def __init__(self, operation: str, graceful: bool, details: tuple[str, ...] = (), finished: bool = False):
        super().__init__(f"pulumi {operation} interrupted")
        self.operation, self.graceful, self.details, self.finished = operation, graceful, details, finished


@contextmanager
def cancel_gracefully(operation: str, printer: Callable[[str], None]) -> Iterator[None]:
    """Let the CLI finish cancelling on the first Ctrl-C instead of abandoning it.

    Ctrl-C reaches the whole foreground process group, so the CLI gets it too and cancels its update,
    finishing the operations in flight. If Python raised KeyboardInterrupt at once, the Automation API
    would close the CLI's output pipes and the CLI would die on its next write, leaving the stack
    locked with pending operations. So the first Ctrl-C only waits; a second one abandons the CLI.
    """
    def on_first() -> None:
        printer(f"Ctrl-C: waiting for `pulumi {operation}` to cancel its update cleanly; press Ctrl-C again to "
                "abandon it (the stack then stays locked with pending operations)")

    # The second Ctrl-C raises exactly KeyboardInterrupt: subprocess.Popen then stops waiting for the CLI.
    with second_ctrl_c_interrupts(on_first, before_interrupt=_silence_abandoned_readers) as interrupted:
        try:
            yield
        except KeyboardInterrupt as exc:
            raise PulumiInterrupted(operation, graceful=False) from exc
        except Exception as exc:
            if interrupted.is_set():  # the CLI's exit after it cancelled
                from ops.errors import cli_last_lines, cli_output

                _code, stdout, stderr = cli_output(exc)
                raise PulumiInterrupted(operation, graceful=True, details=cli_last_lines(stdout, stderr)) from exc
            raise
    if interrupted.is_set():  # the CLI completed the update before it could cancel; stop here all the same
        raise PulumiInterrupted(operation, graceful=True, finished=True)


def _silence_abandoned_readers() -> None:
    """Once the CLI is abandoned, the Automation API's threads that read its output find their pipe
    closed and die with ValueError; that is expected, not a crash to print a traceback for."""
    previous = threading.excepthook

    def hook(args):
        if args.exc_type is ValueError and args.thread is not None and "(consumer)" in args.thread.name:
            return
        previous(args)

    threading.excepthook = hook


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

    def up(self, targets: list[str] | None = None, **options: Any) -> None:
        """`pulumi up` with the policy pack and the config CI passes it (as `pulumi preview
        --policy-pack policies --policy-pack-config ...`); ``options`` go to the Automation API's
        ``Stack.up``."""
        stack = self.stack
        with cancel_gracefully("up", self.printer):
            stack.up(target=targets, target_dependents=False if targets else None, on_output=self.printer,
                     policy_packs=[str(POLICY_PACK)], policy_pack_configs=[str(POLICY_PACK_CONFIG)], **options)

    @property
    def config_file(self) -> Path:
        """The stack's settings file, which `set_config` writes (commit it)."""
        return self.work_dir / f"Pulumi.{self.stack_name}.yaml"

    def get_config(self, key: str) -> str | None:
        """A plain (non-secret) value of the stack's config, or None when it is not set."""
        from pulumi import automation as auto

        try:
            return self.stack.get_config(key).value
        except auto.errors.CommandError:
            return None  # `pulumi config get` fails for a key that is not set

    def set_config(self, key: str, value: str) -> None:
        from pulumi import automation as auto

        self.stack.set_config(key, auto.ConfigValue(value=value, secret=False))

    def destroy(self) -> None:
        stack = self.stack
        with cancel_gracefully("destroy", self.printer):
            stack.destroy(on_output=self.printer)
