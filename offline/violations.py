"""How a policy violation's text reads. Standard library only: the PR comment builder imports it and runs
without the project's environment (a pull request whose lock is stale still gets its comment)."""

from __future__ import annotations


def violation_detail(message: str, description: str) -> str:
    """What a violation says beyond its policy's description. pulumi-policy sends the description, a line
    break and the message the policy reported (or the description alone when it reported none)."""
    message = message.strip()
    if description and message.startswith(description.strip()):
        rest = message[len(description.strip()):].strip()
        return rest or message
    return message
