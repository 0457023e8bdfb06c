"""Reading container logs the runtime wrote in the CRI format (upstream ``pkg/kubelet/kuberuntime/logs``).

Each line of a CRI log is ``<RFC 3339 nano time> <stdout|stderr> <P|F> <text>``;
``P`` marks a partial line whose text continues on the next one.  ``LogOptions``
are the ``v1.PodLogOptions`` the kubelet serves:

* ``tail_lines`` — only the last N lines (counted as complete lines);
* ``since`` — only lines written at or after this time (sinceSeconds and
  sinceTime both arrive as one);
* ``timestamps`` — prefix each line with its time, RFC 3339 with nanoseconds;
* ``limit_bytes`` — stop after that many bytes of output;
* ``follow`` — keep reading as the file grows, until ``still_running()``
  says the container has ended and the file is drained.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

FOLLOW_POLL = 0.1
CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class LogOptions:
    follow: bool = False
    tail_lines: int | None = None
    since: datetime.datetime | None = None
    timestamps: bool = False
    limit_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class LogLine:
    time: str
    stream: str
    partial: bool
    text: bytes


def parse_line(raw: bytes) -> LogLine | None:
    parts = raw.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3:
        return None
    text = parts[3] if len(parts) == 4 else b""
    return LogLine(parts[0].decode(), parts[1].decode(), parts[2] == b"P", text)


def _line_time(line: LogLine) -> datetime.datetime | None:
    stamp = line.time
    if "." in stamp:  # Python parses at most microseconds
        head, _, frac = stamp.partition(".")
        digits = "".join(ch for ch in frac if ch.isdigit())
        stamp = f"{head}.{digits[:6]}{frac[len(digits):]}"
    try:
        return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def render(line: LogLine, opts: LogOptions) -> bytes:
    text = line.text if line.partial else line.text + b"\n"
    return (line.time.encode() + b" " + text) if opts.timestamps else text


def _wanted(line: LogLine, opts: LogOptions) -> bool:
    if opts.since is None:
        return True
    when = _line_time(line)
    return when is None or when >= opts.since


def _split(data: bytes) -> tuple[list[LogLine], bytes]:
    """Complete lines of ``data`` and the unterminated rest."""
    *complete, rest = data.split(b"\n")
    return [line for raw in complete if (line := parse_line(raw)) is not None], rest


def _tail(lines: list[LogLine], count: int) -> list[LogLine]:
    """The last ``count`` lines, a partial line counting with the one it continues into."""
    groups: list[list[LogLine]] = []
    current: list[LogLine] = []
    for line in lines:
        current.append(line)
        if not line.partial:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return [line for group in groups[len(groups) - count if count < len(groups) else 0:] for line in group] \
        if count > 0 else []


async def _lines(path: str, opts: LogOptions, still_running: Callable[[], Awaitable[bool]]
                 ) -> AsyncIterator[LogLine]:
    f = await asyncio.to_thread(open, path, "rb")
    with f:
        backlog, pending = _split(await asyncio.to_thread(f.read))
        for line in backlog if opts.tail_lines is None else _tail(backlog, opts.tail_lines):
            yield line
        while opts.follow:
            chunk = await asyncio.to_thread(f.read, CHUNK)
            if chunk:
                lines, pending = _split(pending + chunk)
                for line in lines:
                    yield line
            elif await still_running():
                await asyncio.sleep(FOLLOW_POLL)
            else:
                return


async def read_logs(path: str, opts: LogOptions, still_running: Callable[[], Awaitable[bool]]
                    ) -> AsyncIterator[bytes]:
    """The log's output as ``opts`` asks, in pieces."""
    budget = opts.limit_bytes
    async for line in _lines(path, opts, still_running):
        if not _wanted(line, opts):
            continue
        out = render(line, opts)
        if budget is not None:
            out = out[:budget]
            budget -= len(out)
        if out:
            yield out
        if budget is not None and budget <= 0:
            return
