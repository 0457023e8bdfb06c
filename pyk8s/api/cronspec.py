"""Parsing of CronJob schedules, with the error texts of the Go cron library
Kubernetes uses (``cron.ParseStandard``): five fields, names for months and
weekdays, ``*``/``?``, ranges, steps, ``@hourly``-style descriptors, ``@every``
and an optional ``TZ=``/``CRON_TZ=`` prefix.

``parse`` returns the allowed values of each field and ``next_time`` the next
activation (cron's day rule: when both day-of-month and day-of-week are
restricted, either may match), for the CronJob controller.  ``CronError``
carries the exact message the API server puts after
``spec.schedule: Invalid value: "...": ``.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

_MONTHS = {m: i + 1 for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}

# (min, max, names) for minute, hour, day of month, month, day of week
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 6, _DAYS))

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


class CronError(ValueError):
    """A schedule the cron library would reject; ``str()`` is its message."""


@dataclass(frozen=True, slots=True)
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    # Whether day-of-month / day-of-week were ``*`` (cron ORs them only when both are restricted).
    dom_star: bool = False
    dow_star: bool = False
    every_seconds: float = 0.0  # ``@every <duration>``
    timezone: str = ""


def _atoi(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise CronError(f'failed to parse int from {text}: strconv.Atoi: parsing "{text}": invalid syntax')
    value = int(text)
    if value < 0:
        raise CronError(f"negative number ({value}) not allowed: {text}")
    return value


def _number(text: str, names: dict[str, int]) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    return _atoi(text)


def _range(expr: str, lo: int, hi: int, names: dict[str, int]) -> tuple[set[int], bool]:
    """One comma-separated element; returns its values and whether it was a bare star."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    star = False
    if low_and_high[0] in ("*", "?"):
        start, end, star = lo, hi, True
    else:
        start = _number(low_and_high[0], names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _number(low_and_high[1], names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _atoi(range_and_step[1])
        if single:  # "N/step" means "N-max/step"
            end = hi
        if step > 1:
            star = False
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < lo:
        raise CronError(f"beginning of range ({start}) below minimum ({lo}): {expr}")
    if end > hi:
        raise CronError(f"end of range ({end}) above maximum ({hi}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step)), star


def _field(text: str, index: int) -> tuple[frozenset[int], bool]:
    lo, hi, names = _BOUNDS[index]
    values: set[int] = set()
    star = False
    for part in text.split(","):
        got, was_star = _range(part, lo, hi, names)
        values |= got
        star = star or was_star
    return frozenset(values), star


def _parse_duration(text: str) -> float:
    """Go's time.ParseDuration for the common cases (``90s``, ``1h30m``)."""
    if text in ("0",):
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise CronError(f'failed to parse duration @every {text}: time: invalid duration "{text}"')
    return total


def _descriptor(spec: str, tz: str) -> Schedule:
    if spec in _DESCRIPTORS:
        return parse(_DESCRIPTORS[spec], _tz=tz)
    if spec.startswith("@every "):
        seconds = _parse_duration(spec[len("@every "):])
        every: frozenset[int] = frozenset()
        return Schedule(every, every, every, every, every, every_seconds=seconds, timezone=tz)
    raise CronError(f"unrecognized descriptor: {spec}")


def parse(spec: str, *, _tz: str = "") -> Schedule:
    """Parse a standard (5-field) cron spec or raise ``CronError``."""
    if not spec:
        raise CronError("empty spec string")
    tz = _tz
    if spec.startswith(("TZ=", "CRON_TZ=")):
        head, _, spec = spec.partition(" ")
        tz = head.split("=", 1)[1]
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise CronError(f"provided bad location {tz}: unknown time zone {tz}") from None
    if spec.startswith("@"):
        return _descriptor(spec, tz)
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    minutes, _ = _field(fields[0], 0)
    hours, _ = _field(fields[1], 1)
    dom, dom_star = _field(fields[2], 2)
    months, _ = _field(fields[3], 3)
    dow, dow_star = _field(fields[4], 4)
    return Schedule(minutes, hours, dom, months, dow, dom_star, dow_star, timezone=tz)


def validate(spec: str) -> str | None:
    """The parse error message, or None when the schedule is valid."""
    try:
        parse(spec)
    except CronError as e:
        return str(e)
    return None


def _day_matches(s: Schedule, day: datetime) -> bool:
    dom = day.day in s.days_of_month
    dow = (day.isoweekday() % 7) in s.days_of_week
    # As in cron: when either day field is "*", both must match; otherwise either may.
    return (dom and dow) if (s.dom_star or s.dow_star) else (dom or dow)


def next_time(s: Schedule, after: datetime) -> datetime | None:
    """The first activation strictly after ``after`` (None if none within 5 years).

    ``after`` must be timezone-aware; the result is in the schedule's zone when
    it names one, else in ``after``'s zone.
    """
    if s.every_seconds:
        return after + timedelta(seconds=max(1.0, s.every_seconds))
    if s.timezone:
        after = after.astimezone(zoneinfo.ZoneInfo(s.timezone))
    start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    for _ in range(366 * 5):
        if day.month in s.months and _day_matches(s, day):
            for hour in sorted(s.hours):
                for minute in sorted(s.minutes):
                    candidate = day.replace(hour=hour, minute=minute)
                    if candidate >= start:
                        return candidate
        day = (day + timedelta(days=1)).replace(hour=0, minute=0)
    return None
