"""metav1.Time and MicroTime formatting and parsing."""

from __future__ import annotations

import datetime

from pyk8s.api.core_v1.helpers.timestamps import format_micro_time, format_time, parse_time

T = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)


def test_format_truncates_to_seconds_in_utc() -> None:
    assert format_time(T) == "2026-01-02T03:04:05Z"
    plus2 = T.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    assert format_time(plus2) == "2026-01-02T03:04:05Z"
    assert format_micro_time(T) == "2026-01-02T03:04:05.678901Z"


def test_parse_round_trips_and_tolerates_absence() -> None:
    assert parse_time("2026-01-02T03:04:05Z") == T.replace(microsecond=0)
    assert parse_time(format_micro_time(T)) == T
    assert parse_time("2026-01-02T05:04:05+02:00") == T.replace(microsecond=0)
    assert parse_time(None) is None and parse_time("") is None and parse_time("yesterday") is None
