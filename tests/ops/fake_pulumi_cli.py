"""A stand-in `pulumi` executable, so tests drive the real Automation API and the real adapter
(ops.pulumi_stack.PulumiStack) through real subprocesses, exit codes, stdout and stderr.

It answers the commands the adapter's Automation API calls issue, from a scenario file named by
FAKE_PULUMI_SCENARIO (JSON): "outputs", "resources" (a `pulumi stack export` deployment's
resources), "config" (plain stack config values), "fail" ({"<command>": {"code", "stdout",
"stderr"}}, command as "stack select" or "up"), "hang" (["up", ...]: print the start of an update
and wait for SIGINT, then cancel as the CLI does). Every invocation is appended to "log" (JSON
lines), including whether output written after a SIGINT still reached the reader (it does not if
the caller abandoned the CLI).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    scenario = json.loads(Path(os.environ["FAKE_PULUMI_SCENARIO"]).read_text())
    words = [a for a in argv if not a.startswith("-")]
    command = " ".join(words[:2]) if words[:1] == ["stack"] or words[:1] == ["config"] else " ".join(words[:1])

    def log(**entry):
        with open(scenario["log"], "a") as out:
            out.write(json.dumps({"command": command, "argv": argv, **entry}) + "\n")

    log(event="start")
    if command == "version":
        print("v3.272.0")
        return 0
    failure = scenario.get("fail", {}).get(command)
    if command in scenario.get("hang", []):
        return hang(command, log)
    if failure:
        sys.stdout.write(failure.get("stdout", ""))
        sys.stderr.write(failure.get("stderr", ""))
        return failure.get("code", 255)
    if command == "stack output":
        print(json.dumps(scenario.get("outputs", {})))
    elif command == "stack export":
        print(json.dumps({"version": 3, "deployment": {"resources": scenario.get("resources", [])}}))
    elif command == "config get":  # `pulumi config get <key> --json`; a key not set is an error
        key = words[2].split(":")[-1]
        if key not in scenario.get("config", {}):
            print(f"error: configuration key '{words[2]}' not found for stack", file=sys.stderr)
            return 255
        print(json.dumps({"value": scenario["config"][key], "secret": False}))
    elif command == "stack history":
        print(json.dumps([{"kind": "update", "startTime": "2026-11-27T10:00:00.000000Z", "message": "",
                           "environment": {}, "config": {}, "result": "succeeded",
                           "endTime": "2026-11-27T10:01:00.000000Z"}]))
    return 0


def hang(command: str, log) -> int:
    """Like `pulumi up` on the first SIGINT: report the cancellation, finish, exit non-zero."""
    cancelled = []
    signal.signal(signal.SIGINT, lambda *_: cancelled.append(True))
    print(f"Updating ({os.environ.get('FAKE_PULUMI_STACK', 'test')})", flush=True)
    log(event="running")
    deadline = time.monotonic() + 20
    while not cancelled and time.monotonic() < deadline:
        time.sleep(0.02)
    if not cancelled:
        return 0
    try:
        print("^C received; cancelling the current update (operations in flight finish)", flush=True)
        for tick in range(10):  # progress lines while the operations in flight finish, as the CLI prints them
            time.sleep(0.05)
            print(f" ~  aws:ecs:TaskDefinition migration updating ({tick + 1}s)", flush=True)
        print("error: update canceled", file=sys.stderr, flush=True)
        delivered = True
    except BrokenPipeError:  # the reader is gone: the real CLI dies here of SIGPIPE, mid-operation
        delivered = False
    log(event="cancelled", delivered=delivered)
    return 255


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
