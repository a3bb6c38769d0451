"""The pack's packages are importable the way the CLI runs them: with policies/ on sys.path."""

import json
import sys
from pathlib import Path

import pytest

from offline.policy_client import PolicyPackServer

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))


# The pack as the CLI starts it for a project of its own ("demo", eu-central-1, a scratch project directory the
# tests write Dockerfiles and package.json files into), one process per session for every file that analyzes
# hand-made resources. A test that configures it puts the empty config back.
@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    return root


@pytest.fixture(scope="session")
def stub(project):
    with PolicyPackServer(env={"PULUMI_PROJECT_DIR": str(project), "PULUMI_PROJECT": "demo",
                               "PULUMI_CONFIG": json.dumps({"aws:region": "eu-central-1"})}) as analyzer:
        yield analyzer
