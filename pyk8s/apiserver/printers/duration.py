"""Human durations, the way kubectl's AGE and similar columns show them.

The thresholds follow apimachinery's HumanDuration: precise while a duration is
short, coarser as it grows (``90s``, ``5m3s``, ``2h15m``, ``3d4h``, ``1y20d``).
Times come in as RFC 3339 strings from objects; ``now`` is always passed in so
tests can pin the clock.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

UNKNOWN = "<unknown>"


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp (``Z`` or offset, optional fraction) as aware UTC, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def human_duration(delta: timedelta) -> str:
    """Render a duration with kubectl's rounding rules (always truncating)."""
    total = delta.total_seconds()
    # Clocks may disagree a little: up to one second in the future reads as "0s".
    seconds = math.trunc(total)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if rest == 0 else f"{years}y{rest}d"
    return f"{hours // 24 // 365}y"


def since(value: object, now: datetime) -> str:
    """Age of a timestamp string relative to ``now``; ``<unknown>`` if unset."""
    when = parse_time(value)
    if when is None:
        return UNKNOWN
    return human_duration(now - when)


def between(start: object, end: object) -> str:
    """Duration from one timestamp to another (both must parse), else ``""``."""
    a, b = parse_time(start), parse_time(end)
    if a is None or b is None:
        return ""
    return human_duration(b - a)


def rfc3339(value: object) -> str:
    """A timestamp normalised to ``YYYY-MM-DDTHH:MM:SSZ`` (the "Created At" cell)."""
    when = parse_time(value)
    if when is None:
        return "0001-01-01T00:00:00Z"
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
