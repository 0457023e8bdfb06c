"""CRI log reading: partial lines, tail, since, timestamps, byte limits and follow."""

from __future__ import annotations

import asyncio
import datetime
import pathlib

from pyk8s.kubelet.server.logs import LogOptions, read_logs

LOG = (b"2026-01-01T00:00:01.000000001Z stdout F one\n"
       b"2026-01-01T00:00:02.5Z stderr P tw\n"
       b"2026-01-01T00:00:02.6Z stderr F o\n"
       b"2026-01-01T00:00:03Z stdout F three\n")


async def collect(path: pathlib.Path, opts: LogOptions, running: bool = False) -> bytes:
    async def still() -> bool:
        return running

    return b"".join([piece async for piece in read_logs(str(path), opts, still)])


async def test_plain_partial_lines_join(tmp_path: pathlib.Path) -> None:
    (tmp_path / "0.log").write_bytes(LOG)
    assert await collect(tmp_path / "0.log", LogOptions()) == b"one\ntwo\nthree\n"


async def test_tail_counts_a_partial_with_its_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / "0.log").write_bytes(LOG)
    assert await collect(tmp_path / "0.log", LogOptions(tail_lines=2)) == b"two\nthree\n"
    assert await collect(tmp_path / "0.log", LogOptions(tail_lines=0)) == b""
    assert await collect(tmp_path / "0.log", LogOptions(tail_lines=10)) == b"one\ntwo\nthree\n"


async def test_since_timestamps_and_limit(tmp_path: pathlib.Path) -> None:
    (tmp_path / "0.log").write_bytes(LOG)
    since = datetime.datetime(2026, 1, 1, 0, 0, 3, tzinfo=datetime.UTC)
    assert await collect(tmp_path / "0.log", LogOptions(since=since)) == b"three\n"
    stamped = await collect(tmp_path / "0.log", LogOptions(timestamps=True, tail_lines=1))
    assert stamped == b"2026-01-01T00:00:03Z three\n"
    assert await collect(tmp_path / "0.log", LogOptions(limit_bytes=6)) == b"one\ntw"


async def test_follow_reads_appended_lines_until_the_container_ends(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(b"2026-01-01T00:00:01Z stdout F first\n")
    running = True

    async def still() -> bool:
        return running

    got: list[bytes] = []

    async def reader() -> None:
        async for piece in read_logs(str(path), LogOptions(follow=True), still):
            got.append(piece)

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.2)
    with path.open("ab") as f:
        f.write(b"2026-01-01T00:00:02Z stdout F second\n")
    await asyncio.sleep(0.3)
    running = False
    await asyncio.wait_for(task, 2)
    assert b"".join(got) == b"first\nsecond\n"
