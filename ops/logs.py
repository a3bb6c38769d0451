"""Tail the service's log group: since a time, with a CloudWatch filter pattern, optionally following."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from ops.common import EXIT_USAGE, Aws, OpsError, Printer

_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime | None = None) -> int:
    """'15m', '2h', '1d' or an ISO timestamp -> epoch milliseconds."""
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(text)
    if match:
        moment = now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise OpsError(f"--since {text!r}: use 30s, 15m, 2h, 1d or an ISO time like 2026-11-24T10:00", EXIT_USAGE) \
                from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def fetch(aws: Aws, group: str, start_ms: int, pattern: str | None, seen: set[str], limit: int | None = None):
    paginator = aws.logs.get_paginator("filter_log_events")
    arguments = {"logGroupName": group, "startTime": start_ms}
    if pattern:
        arguments["filterPattern"] = pattern
    events = []
    for page in paginator.paginate(**arguments, PaginationConfig={"MaxItems": limit} if limit else {}):
        for event in page.get("events", []):
            if event["eventId"] not in seen:
                seen.add(event["eventId"])
                events.append(event)
    return sorted(events, key=lambda e: e["timestamp"])


def format_event(event: dict) -> str:
    at = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{at} {event['logStreamName']} {event['message'].rstrip()}"


def tail(aws: Aws, group: str, since: str, pattern: str | None, follow: bool, printer: Printer,
         interval: float = 5.0, rounds: int | None = None, limit: int | None = None) -> int:
    start, seen, shown, round_ = parse_since(since), set(), 0, 0
    while True:
        for event in fetch(aws, group, start, pattern, seen, limit):
            printer(format_event(event))
            start = max(start, event["timestamp"])
            shown += 1
        round_ += 1
        if not follow or (rounds is not None and round_ >= rounds):
            return shown
        time.sleep(interval)
