"""RFC 3339 timestamps as the API carries them (``2024-01-02T03:04:05Z``).

Controllers reason in timezone-aware ``datetime`` values (UTC) and write
second-precision strings back, as ``metav1.Time`` serialises.  A missing or
empty timestamp parses to ``None`` (Go's zero time).
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse(value: str | None) -> datetime | None:
    """The instant in ``value``, or None when it is absent or empty."""
    if not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


def format(moment: datetime) -> str:  # noqa: A001 - mirrors metav1.Time's name for the operation
    """``moment`` as the API writes it: UTC, whole seconds, ``Z`` suffix."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
