"""The watch stream writer: shared encodings and batched writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from pyk8s.apiserver.endpoints import watch
from pyk8s.apiserver.registry.rest import WatchEvent


class FakeResponse:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.writes.append(data)


async def stream(*events: WatchEvent) -> AsyncIterator[WatchEvent]:
    for ev in events:
        yield ev


async def pump(*events: WatchEvent) -> FakeResponse:
    resp = FakeResponse()
    it = stream(*events)
    first = asyncio.ensure_future(it.__anext__())
    await watch._pump(resp, it, first, None)  # type: ignore[arg-type]
    return resp


async def test_an_event_shared_by_watchers_is_encoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = watch._line

    def counting(ev_type: str, obj: dict) -> bytes:
        calls.append(ev_type)
        return real(ev_type, obj)

    monkeypatch.setattr(watch, "_line", counting)
    shared: dict[str, bytes] = {}
    obj = {"kind": "Pod", "metadata": {"name": "a", "resourceVersion": "7"}}
    outputs = [await pump(WatchEvent("ADDED", obj, shared)) for _ in range(3)]
    assert calls == ["ADDED"]
    assert outputs[0].writes[0].startswith(b'{"type":"ADDED","object":{"kind":"Pod"')
    assert all(o.writes == outputs[0].writes for o in outputs)
    # The same object seen as another type (a selector transition) is another line.
    await pump(WatchEvent("DELETED", obj, shared))
    assert calls == ["ADDED", "DELETED"]


async def test_events_that_come_together_are_written_together() -> None:
    a, b, c = ({"metadata": {"name": n}} for n in "abc")
    resp = await pump(WatchEvent("ADDED", a, more=True), WatchEvent("ADDED", b, more=True),
                      WatchEvent("ADDED", c), WatchEvent("DELETED", a))
    assert len(resp.writes) == 2
    assert resp.writes[0].count(b"\n") == 3 and resp.writes[1].startswith(b'{"type":"DELETED"')


async def test_a_batch_cut_short_by_an_error_is_still_written() -> None:
    async def failing() -> AsyncIterator[WatchEvent]:
        yield WatchEvent("ADDED", {"metadata": {"name": "a"}}, more=True)
        raise RuntimeError("boom")

    resp = FakeResponse()
    it = failing()
    await watch._pump(resp, it, asyncio.ensure_future(it.__anext__()), None)  # type: ignore[arg-type]
    assert len(resp.writes) == 1 and resp.writes[0].count(b"\n") == 2 and b'"ERROR"' in resp.writes[0]


class FakeTransport:
    def __init__(self, log: list[bytes]) -> None:
        self.log = log
        self.buffered = 0

    def write(self, data: bytes) -> None:
        self.log.append(data)

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return self.buffered


def chunk(line: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(line), line)


async def test_direct_lines_of_one_loop_pass_go_out_in_one_chunked_write() -> None:
    log: list[bytes] = []
    writer = watch.DirectWriter(FakeTransport(log), watch._batch())  # type: ignore[arg-type]
    a, b = {"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}
    assert not writer.write_event("ADDED", a, None)  # not open yet: the headers are not out
    writer.open = True
    shared: dict[str, bytes] = {}
    assert writer.write_event("ADDED", a, shared) and writer.write_event("DELETED", b, None)
    assert log == []
    await asyncio.sleep(0)
    assert log == [chunk(watch._line("ADDED", a)) + chunk(watch._line("DELETED", b))]
    assert shared["chunk ADDED"] == chunk(watch._line("ADDED", a))  # shared with every other watcher


async def test_direct_writes_are_counted_once_per_loop_pass() -> None:
    class Child:
        def __init__(self) -> None:
            self.incs: list[int] = []

        def inc(self, n: int) -> None:
            self.incs.append(n)

    class Tally:
        def __init__(self) -> None:
            self.child = Child()

    batch = watch._batch()
    tallies = [Tally(), Tally()]
    tallies[1].child = tallies[0].child  # two watches of one kind share the counter
    writers = [watch.DirectWriter(FakeTransport([]), batch, t) for t in tallies]  # type: ignore[arg-type]
    for w in writers:
        w.open = True
        w.write_event("ADDED", {"metadata": {"name": "a"}}, None)
        w.write_event("ADDED", {"metadata": {"name": "b"}}, None)
    await asyncio.sleep(0)
    assert tallies[0].child.incs == [4]


async def test_direct_writer_refuses_when_the_connection_is_backed_up() -> None:
    transport = FakeTransport([])
    writer = watch.DirectWriter(transport, watch._batch())  # type: ignore[arg-type]
    writer.open = True
    transport.buffered = watch.DIRECT_BUFFER_LIMIT + 1
    assert not writer.write_event("ADDED", {"metadata": {"name": "a"}}, None)


async def test_the_handler_flushes_direct_lines_before_its_own_write() -> None:
    log: list[bytes] = []

    class Resp:
        async def write(self, data: bytes) -> None:
            log.append(data)

    writer = watch.DirectWriter(FakeTransport(log), watch._batch())  # type: ignore[arg-type]
    writer.open = True
    older = {"metadata": {"name": "older"}}
    writer.write_event("ADDED", older, None)
    await watch._flush(Resp(), [b"newer\n"], writer)  # type: ignore[arg-type]
    assert log == [chunk(watch._line("ADDED", older)), b"newer\n"]
    await asyncio.sleep(0)
    assert len(log) == 2  # the loop's callback finds nothing left


async def test_the_store_ends_a_timed_watch_itself_so_its_closing_bookmark_is_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The watch cache sends a closing bookmark at its own timeoutSeconds deadline; on a loaded loop that
    # comes a little after the handler's deadline for the same duration, which used to cancel it unsent.
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    monkeypatch.setattr(watch, "STORE_DEADLINE_GRACE", 30.0, raising=False)  # generous: only the order counts

    async def late_store() -> AsyncIterator[WatchEvent]:
        yield WatchEvent("ADDED", {"metadata": {"name": "a", "resourceVersion": "5"}})
        await asyncio.sleep(0.5)  # the store's deadline work runs past the handler's 0.2 s
        yield WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "9"}})

    async def handler(request: web.Request) -> web.StreamResponse:
        return await watch.serve_watch(request, late_store(), duration=0.2, content_type="application/json")

    app = web.Application()
    app.router.add_get("/w", handler)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/w")
        body = await resp.read()  # ends when the store ends, not at the grace
    assert [line.split(b",")[0] for line in body.splitlines()] == [b'{"type":"ADDED"', b'{"type":"BOOKMARK"']
