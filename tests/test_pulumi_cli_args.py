"""What the real adapter (ops/pulumi_stack.py) makes the Pulumi CLI run, through the Automation API.

A stand-in `pulumi` executable on PATH records its arguments and answers the few commands an `up`
issues (version, stack select, up, stack output, stack history) the way the CLI prints them; any
other command fails, as an unexpected CLI call should.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from offline.policy_client import policy_config_request
from ops.pulumi_stack import POLICY_PACK, PulumiStack
from tests.conftest import ROOT


def ci_policy_pack_config() -> str:
    """The --policy-pack-config of CI's `pulumi preview` (preview.yml): what deploys must apply too."""
    job = yaml.safe_load((ROOT / ".github/workflows/preview.yml").read_text())["jobs"]["preview"]
    (command,) = [shlex.split(s["run"]) for s in job["steps"] if "pulumi preview" in s.get("run", "")]
    return str(ROOT / command[command.index("--policy-pack-config") + 1])

FAKE_PULUMI = """#!{python} -S
import json, os, sys
args = [a for a in sys.argv[1:] if a != "--non-interactive"]
with open(os.environ["FAKE_PULUMI_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args == ["version"]:
    print("v3.272.0")
elif args[:2] == ["stack", "select"] or args[:1] == ["up"]:
    pass
elif args[:3] == ["stack", "output", "--json"]:
    print("{{}}")
elif args[:3] == ["stack", "history", "--json"]:
    print(json.dumps([{{"version": 1, "kind": "update", "startTime": "2026-11-27T10:00:00.000Z",
                        "endTime": "2026-11-27T10:01:00.000Z", "message": "", "environment": {{}},
                        "config": {{}}, "result": "succeeded", "resourceChanges": {{}}}}]))
else:
    print("fake pulumi: unexpected command " + " ".join(args), file=sys.stderr)
    sys.exit(1)
"""


@pytest.fixture
def pulumi_cli(tmp_path, monkeypatch):
    (tmp_path / "pulumi").write_text(FAKE_PULUMI.format(python=sys.executable))
    (tmp_path / "pulumi").chmod(0o755)
    log = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    monkeypatch.setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
    return lambda: [json.loads(line) for line in log.read_text().splitlines()]


def pairs(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


@pytest.mark.parametrize("targets", [None, ["urn:pulumi:staging::truecaller-backend::docker:index/image:Image::app"]])
def test_every_up_runs_the_policy_pack_with_its_config(pulumi_cli, targets):
    PulumiStack("staging", printer=lambda *_: None).up(targets)
    (up,) = [args for args in pulumi_cli() if args[:1] == ["up"]]
    assert pairs(up, "--policy-pack") == [str(POLICY_PACK)]
    assert pairs(up, "--policy-pack-config") == [ci_policy_pack_config()]
    assert pairs(up, "--stack") == ["staging"] and pairs(up, "--target") == (targets or [])


def test_that_config_is_one_the_pack_accepts():
    if str(POLICY_PACK) not in sys.path:  # as the CLI runs the pack: from its own folder
        sys.path.insert(0, str(POLICY_PACK))
    from guardrails import all_policies

    config = json.loads(Path(ci_policy_pack_config()).read_text())
    request = policy_config_request(config, [p.name for p in all_policies()])  # raises on unknown names/levels
    assert set(request.policyConfig) == set(config) - {"all"}
