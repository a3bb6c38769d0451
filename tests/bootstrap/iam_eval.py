"""Just enough of IAM's policy evaluation to read the bootstrap's documents as AWS would.

Identity-based documents with Allow and Deny statements, and a permissions boundary: a request is
allowed when one Allow statement's Action and Resource match and all its conditions hold, no Deny
statement matches (an explicit Deny always wins), and, when the principal has a permissions
boundary, the boundary allows it too (the effective rights are identity ∩ boundary; AWS's policy
evaluation logic, "identity-based policies with permissions boundaries"). Matching follows the IAM
reference: actions case-insensitively, resources case-sensitively, both with the `*` and `?`
wildcards; within a condition, several keys must all hold (AND) and several values of one key
are alternatives (OR); a key missing from the request fails every operator below except
`ForAllValues:*`, which holds vacuously. An operator this module does not implement raises, so a
document using one cannot pass a test by accident.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


@cache
def _wildcard_regex(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE)


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    return _wildcard_regex(pattern, case_sensitive).fullmatch(value) is not None


def _values(context: Mapping[str, Any], key: str) -> list[str] | None:
    for name, value in context.items():
        if name.lower() == key.lower():  # condition key names are case-insensitive
            return [str(v) for v in as_list(value)]
    return None


def _single(operator: str, wanted: list[str], got: list[str] | None) -> bool:
    if got is None:
        return False
    if operator == "StringEquals":
        return any(g == w for g in got for w in wanted)
    if operator in ("StringLike", "ArnLike"):
        return any(wildcard_match(w, g) for g in got for w in wanted)
    if operator == "Bool":
        return any(g.lower() == w.lower() for g in got for w in wanted)
    raise NotImplementedError(f"condition operator {operator} is not modelled")


def condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]) -> bool:
    for operator, keys in condition.items():
        for key, wanted in keys.items():
            wanted_values = [str(w) for w in as_list(wanted)]
            got = _values(context, key)
            if operator.startswith("ForAllValues:"):
                inner = operator.split(":", 1)[1]
                if got and not all(_single(inner, wanted_values, [g]) for g in got):
                    return False
            elif not _single(operator, wanted_values, got):
                return False
    return True


def statement_matches(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, Any]) -> bool:
    if statement.get("Effect") not in ("Allow", "Deny") or "NotAction" in statement or "NotResource" in statement:
        raise NotImplementedError("only Allow/Deny statements with Action and Resource are modelled")
    return (
        any(wildcard_match(a, action, case_sensitive=False) for a in as_list(statement["Action"]))
        and any(wildcard_match(r, resource) for r in as_list(statement["Resource"]))
        and condition_holds(statement.get("Condition", {}), context)
    )


def _matching(documents: Iterable[Mapping[str, Any]], effect: str, action: str, resource: str,
              context: Mapping[str, Any]) -> bool:
    return any(s.get("Effect") == effect and statement_matches(s, action, resource, context)
               for document in documents for s in as_list(document["Statement"]))


def allowed(documents: Iterable[Mapping[str, Any]], action: str, resource: str,
            context: Mapping[str, Any] | None = None, *,
            boundary: Iterable[Mapping[str, Any]] | None = None) -> bool:
    """Whether a principal with these identity-based ``documents`` (and permissions ``boundary``,
    if it has one) may make the request."""
    documents, context = list(documents), context or {}
    layers = [documents] + ([list(boundary)] if boundary is not None else [])
    if any(_matching(layer, "Deny", action, resource, context) for layer in layers):
        return False
    return all(_matching(layer, "Allow", action, resource, context) for layer in layers)


def may_assume(trust_policy: Mapping[str, Any], federated: str, claims: Mapping[str, str]) -> bool:
    """Whether a web identity token with ``claims`` from provider ``federated`` may assume the role."""
    for statement in as_list(trust_policy["Statement"]):
        if statement.get("Effect") != "Allow":
            raise NotImplementedError("only Allow trust statements are modelled")
        if statement.get("Principal", {}).get("Federated") != federated:
            continue
        if "sts:AssumeRoleWithWebIdentity" not in as_list(statement["Action"]):
            continue
        if condition_holds(statement.get("Condition", {}), claims):
            return True
    return False
