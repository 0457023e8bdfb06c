"""API timestamps: ``metav1.Time`` (``2024-01-02T03:04:05Z``, whole seconds,
UTC) and ``metav1.MicroTime`` (``2024-01-02T03:04:05.123456Z``, used by
Leases and events.k8s.io).

``parse_time`` reads either (and offsets other than Z) into an aware UTC
``datetime``; an absent, empty or unreadable value is None (Go's zero time).  Formatting
truncates: Go's RFC 3339 formatting drops the fraction, it does not round.
"""

from __future__ import annotations

import datetime

UTC = datetime.UTC


def format_time(moment: datetime.datetime) -> str:
    """``moment`` as metav1.Time serialises: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(moment: datetime.datetime) -> str:
    """``moment`` as metav1.MicroTime serialises: UTC, six fraction digits, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str | None) -> datetime.datetime | None:
    """The instant in ``value`` (None when absent, empty or unreadable); naive values are taken as UTC."""
    if not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        stamp = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)
