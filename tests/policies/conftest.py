"""The pack's packages are importable the way the CLI runs them: with policies/ on sys.path."""

import sys
from pathlib import Path

import pytest

from offline.policy_client import PolicyPackServer

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))


# The pack as the CLI starts it for each real stack, one process per session (a start costs ~0.45 s of CPU) for
# the files that only analyze with it: no test configures these two.
@pytest.fixture(scope="session")
def pack(prod):
    with PolicyPackServer(prod) as stub:
        yield stub


@pytest.fixture(scope="session")
def staging_pack(staging):
    with PolicyPackServer(staging) as stub:
        yield stub
