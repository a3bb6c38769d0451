"""Components of the bootstrap project: what an administrator creates once per AWS account so the
main program can be deployed from GitHub Actions without long-lived credentials."""

import sys
from pathlib import Path

# The Pulumi CLI runs this project from bootstrap/ and puts only that directory on sys.path (its
# pulumi-language-python-exec runs the program with runpy.run_path). The repository root, the main
# program's directory, comes after it so that config.py can use the one check both programs apply to
# unknown stack-file keys (infra/config_keys.py) instead of a copy; appended, so a module of the
# bootstrap's own always wins over one of the same name there.
_REPOSITORY_ROOT = str(Path(__file__).resolve().parents[2])
if _REPOSITORY_ROOT not in sys.path:
    sys.path.append(_REPOSITORY_ROOT)
