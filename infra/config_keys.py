"""Keys in a stack file that the program does not read.

The Pulumi CLI accepts any key under a project's namespace in ``Pulumi.<stack>.yaml``; a program that
reads its settings by name never sees a misspelt one, and the default applies in silence
(``noncurrentVersionDay: 30`` keeps 90 days, a misspelt ``deployedProject`` scopes the CI roles to
another project). Both programs of this repository refuse such keys with this one check: the main
program (``infra/config.py``) and the bootstrap (``bootstrap/account/config.py``, which imports this
module from the repository root). It imports nothing else of the main program, so the bootstrap can
import it without the main program's dependencies.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable


def unknown_key_problems(keys: Iterable[str], *, known: Collection[str], secret: Collection[str] = (),
                         project: str, stack: str) -> list[str]:
    """One problem per key of ``keys`` (without the ``<project>:`` namespace) that is not in ``known``.

    Each names the closest known key (the same key in another case first, then difflib's closest) and
    the commands that move the value there: ``pulumi config set --secret`` when that key is one of
    ``secret``, so that following the fix never stores a secret in plain text in the stack file.
    """
    lowered = {k.lower(): k for k in known}
    problems = []
    for key in sorted(keys):
        if key in known:
            continue
        closest = lowered.get(key.lower()) or next(iter(difflib.get_close_matches(key, list(known))), None)
        hint, fix = "", f"pulumi config rm {key} -s {stack}"
        if closest:
            hint = f"did you mean '{closest}'? "
            # A secret's value is asked for by the CLI (no echo), never typed into the shell's history.
            setting = f"--secret {closest}" if closest in secret else f"{closest} <value>"
            fix += f" && pulumi config set {setting} -s {stack}"
        problems.append(f"{project}:{key} in Pulumi.{stack}.yaml is not a setting of this program: {hint}Fix: {fix}")
    return problems


def configured_keys(project: str) -> list[str]:
    """The keys the running stack sets under ``<project>:`` (its stack file and ``--config``), without the
    namespace: what ``unknown_key_problems`` judges."""
    from pulumi.runtime import config as runtime_config

    namespace = f"{project}:"
    every_key = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    return sorted(key[len(namespace):] for key in every_key if key.startswith(namespace))
