"""The pack's packages are importable the way the CLI runs them: with policies/ on sys.path."""

import sys
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
if str(PACK_DIR) not in sys.path:
    sys.path.insert(0, str(PACK_DIR))
