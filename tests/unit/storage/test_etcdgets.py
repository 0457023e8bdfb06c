"""The etcd driver's get batching: the gets of one loop turn leave together, and so do those that
queue while the calls in flight are at their limit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyk8s.storage.drivers import etcdgets
from pyk8s.storage.drivers.etcdgets import GetBatcher
from pyk8s.storage.drivers.etcdpb.generated import kv_pb2, rpc_pb2

STORED = {b"/a": b"1", b"/b": b"2", b"/c": b"3"}


class FakeKV:
    """Answers Range and ranges-only Txn from ``STORED``; holds every call until ``release`` is set."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.release = asyncio.Event()
        self.called = asyncio.Condition()
        self.fail = fail

    @staticmethod
    def _range(req: rpc_pb2.RangeRequest) -> rpc_pb2.RangeResponse:
        resp = rpc_pb2.RangeResponse()
        if req.key in STORED:
            resp.kvs.append(kv_pb2.KeyValue(key=req.key, value=STORED[req.key], mod_revision=7))
        return resp

    async def __call__(self, method: str, request: Any) -> Any:
        self.calls.append((method, request))
        async with self.called:
            self.called.notify_all()
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        if method == "Range":
            return self._range(request)
        assert method == "Txn" and not request.compare
        resp = rpc_pb2.TxnResponse(succeeded=True)
        for op in request.success:
            resp.responses.append(rpc_pb2.ResponseOp(response_range=self._range(op.request_range)))
        return resp


async def _until_calls(kv: FakeKV, n: int) -> None:
    async with asyncio.timeout(10), kv.called:
        await kv.called.wait_for(lambda: len(kv.calls) == n)


def _value(kv: kv_pb2.KeyValue | None) -> bytes | None:
    return None if kv is None else kv.value


async def _fill_slots(batcher: GetBatcher, kv: FakeKV) -> list[asyncio.Task[kv_pb2.KeyValue | None]]:
    """``MAX_IN_FLIGHT`` gets of ``/a``, each asked in its own loop turn: one call each, held by ``kv``."""
    first = []
    for i in range(etcdgets.MAX_IN_FLIGHT):
        first.append(asyncio.create_task(batcher.get(b"/a")))
        await _until_calls(kv, i + 1)
    return first


async def test_a_lone_get_is_a_plain_range() -> None:
    kv = FakeKV()
    kv.release.set()
    batcher = GetBatcher(kv)
    assert _value(await batcher.get(b"/b")) == b"2"
    assert _value(await batcher.get(b"/missing")) is None
    assert [(m, req.key) for m, req in kv.calls] == [("Range", b"/b"), ("Range", b"/missing")]


async def test_gets_asked_in_one_loop_turn_leave_together_though_slots_are_free() -> None:
    kv = FakeKV()
    kv.release.set()
    batcher = GetBatcher(kv)
    keys = [b"/a", b"/missing", b"/c"]
    got = await asyncio.gather(*(batcher.get(k) for k in keys))
    assert [_value(g) for g in got] == [b"1", None, b"3"]
    assert [m for m, _ in kv.calls] == ["Txn"]  # one call, not one per get while calls were free
    assert [op.request_range.key for op in kv.calls[0][1].success] == keys


async def test_queued_gets_leave_together_as_one_txn() -> None:
    kv = FakeKV()
    batcher = GetBatcher(kv)
    first = await _fill_slots(batcher, kv)
    queued_keys = [b"/c", b"/missing", b"/b", b"/a", b"/c"]
    queued = []
    for k in queued_keys:  # asked in different loop turns, all while the slots are taken
        queued.append(asyncio.create_task(batcher.get(k)))
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(kv.calls) == etcdgets.MAX_IN_FLIGHT  # nothing more on the wire while the slots are taken
    kv.release.set()
    got = await asyncio.gather(*first, *queued)
    assert [_value(g) for g in got] == [b"1"] * len(first) + [STORED.get(k) for k in queued_keys]
    txns = [req for m, req in kv.calls if m == "Txn"]
    assert len(txns) == 1
    assert [op.request_range.key for op in txns[0].success] == queued_keys


async def test_a_cancelled_queued_get_is_left_out_and_others_still_answered() -> None:
    kv = FakeKV()
    batcher = GetBatcher(kv)
    first = await _fill_slots(batcher, kv)
    gone = asyncio.create_task(batcher.get(b"/b"))
    kept = [asyncio.create_task(batcher.get(k)) for k in (b"/c", b"/a")]
    await asyncio.sleep(0)
    gone.cancel()
    kv.release.set()
    assert [_value(g) for g in await asyncio.gather(*kept)] == [b"3", b"1"]
    await asyncio.gather(*first)
    with pytest.raises(asyncio.CancelledError):
        await gone
    txn = next(req for m, req in kv.calls if m == "Txn")
    assert [op.request_range.key for op in txn.success] == [b"/c", b"/a"]


async def test_a_get_cancelled_before_its_turn_ends_is_not_sent() -> None:
    kv = FakeKV()
    kv.release.set()
    batcher = GetBatcher(kv)
    gone = asyncio.create_task(batcher.get(b"/b"))
    kept = asyncio.create_task(batcher.get(b"/c"))
    await asyncio.sleep(0)  # both queued, the send not yet made
    gone.cancel()
    assert _value(await kept) == b"3"
    assert [(m, req.key) for m, req in kv.calls] == [("Range", b"/c")]


async def test_a_failed_call_fails_every_get_it_carried_and_the_next_get_still_works() -> None:
    kv = FakeKV(fail=RuntimeError("etcd said no"))
    batcher = GetBatcher(kv)
    first = await _fill_slots(batcher, kv)
    tasks = [asyncio.create_task(batcher.get(b"/a")) for _ in range(3)]
    kv.release.set()
    results = await asyncio.gather(*first, *tasks, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    kv.fail = None
    assert _value(await batcher.get(b"/b")) == b"2"


async def test_batches_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(etcdgets, "MAX_BATCH", 3)
    kv = FakeKV()
    batcher = GetBatcher(kv)
    first = await _fill_slots(batcher, kv)
    queued = [asyncio.create_task(batcher.get(b"/b")) for _ in range(7)]
    await asyncio.sleep(0)
    kv.release.set()
    assert [_value(g) for g in await asyncio.gather(*first, *queued)] == [b"1"] * len(first) + [b"2"] * 7
    sizes = sorted(len(req.success) if m == "Txn" else 1 for m, req in kv.calls[etcdgets.MAX_IN_FLIGHT:])
    assert sum(sizes) == 7 and max(sizes) <= 3
