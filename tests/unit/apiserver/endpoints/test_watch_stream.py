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
