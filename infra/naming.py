"""Physical names within AWS's length limits.

A name that is too long is cut and given a short hash of the whole name, so two stacks whose names
share a long prefix still get different names, and a cut never leaves a trailing '-'.
"""

from __future__ import annotations

import hashlib

HASH_LENGTH = 8


def limited_name(name: str, max_length: int) -> str:
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:HASH_LENGTH]
    return f"{name[: max_length - HASH_LENGTH - 1].rstrip('-')}-{digest}"


def name_prefix(name: str, max_length: int) -> str:
    """A prefix for AWS/provider auto-naming (`name_prefix`): ends with '-', at most ``max_length`` long."""
    return limited_name(name, max_length - 1) + "-"


def permissions_boundary_arn(partition: str, account: str, project: str) -> str:
    """The workload permissions boundary the bootstrap creates for ``project`` in ``account``
    (bootstrap/account/permissions.py: ``boundary_name``/``boundary_path``, which a test keeps equal):
    the CI deploy role creates roles only with it."""
    return f"arn:{partition}:iam::{account}:policy/{project}/{project}-workload-boundary"
