"""AWS KMS: keys that encrypt state and stack secrets rotate their key material."""

from __future__ import annotations

from pulumi_policy import Severity

from guardrails.common import resource_policy

KEY = "aws:kms/key:Key"
SYMMETRIC = "SYMMETRIC_DEFAULT"  # only symmetric encryption keys support automatic rotation


def _rotation(args, report_violation):
    spec = args.props.get("customerMasterKeySpec") or args.props.get("keySpec") or SYMMETRIC
    if spec == SYMMETRIC and args.props.get("enableKeyRotation") is not True:
        report_violation("The symmetric KMS key does not rotate its key material. Set enable_key_rotation=True "
                         "(yearly by default; rotation_period_in_days sets 90 to 2560 days).")


key_rotation = resource_policy(
    "kms-key-rotation",
    "Symmetric KMS keys rotate their key material automatically, so one leaked or weakened key version "
    "never protects new data for long. Fix: aws.kms.Key(enable_key_rotation=True).",
    [KEY],
    _rotation,
    severity=Severity.MEDIUM,
)

POLICIES = [key_rotation]
