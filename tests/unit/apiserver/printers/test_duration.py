"""Age formatting: each threshold of kubectl's human duration rules."""

from datetime import UTC, datetime, timedelta

import pytest

from pyk8s.apiserver.printers.duration import human_duration, parse_time, rfc3339, since

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=0), "0s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(seconds=119), "119s"),  # under 2 minutes: seconds
        (timedelta(seconds=120), "2m"),
        (timedelta(minutes=5, seconds=3), "5m3s"),
        (timedelta(minutes=9, seconds=59), "9m59s"),
        (timedelta(minutes=10, seconds=30), "10m"),  # seconds dropped from 10 minutes on
        (timedelta(minutes=179), "179m"),
        (timedelta(hours=3), "3h"),
        (timedelta(hours=3, minutes=15), "3h15m"),
        (timedelta(hours=7, minutes=59), "7h59m"),
        (timedelta(hours=8, minutes=30), "8h"),
        (timedelta(hours=47), "47h"),
        (timedelta(hours=48), "2d"),
        (timedelta(days=3, hours=4), "3d4h"),
        (timedelta(days=7, hours=23), "7d23h"),
        (timedelta(days=8, hours=5), "8d"),
        (timedelta(days=729), "729d"),
        (timedelta(days=730), "2y"),
        (timedelta(days=750), "2y20d"),
        (timedelta(days=365 * 8 + 40), "8y"),
        (timedelta(milliseconds=-500), "0s"),
        (timedelta(seconds=-1, milliseconds=-900), "0s"),  # truncates to -1
        (timedelta(seconds=-2), "<invalid>"),
    ],
)
def test_human_duration(delta: timedelta, expected: str) -> None:
    assert human_duration(delta) == expected


def test_since_parses_rfc3339_and_micro_time() -> None:
    assert since("2026-01-10T11:59:30Z", NOW) == "30s"
    assert since("2026-01-10T11:58:00.123456Z", NOW) == "119s"
    assert since("2026-01-10T13:59:30+02:00", NOW) == "30s"


@pytest.mark.parametrize("value", [None, "", "not a time"])
def test_since_unknown(value: object) -> None:
    assert since(value, NOW) == "<unknown>"


def test_rfc3339_normalises_to_utc_seconds() -> None:
    assert rfc3339("2026-01-10T13:00:00.5+02:00") == "2026-01-10T11:00:00Z"
    assert parse_time("2026-01-10T11:00:00Z") == datetime(2026, 1, 10, 11, tzinfo=UTC)
