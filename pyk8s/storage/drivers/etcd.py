"""etcd v3 driver over etcd's HTTP/JSON gRPC gateway (checked against 3.4).

Every call is one POST to ``/v3/kv/...`` on a keep-alive aiohttp session;
keys and values travel base64-encoded and int64 fields come back as JSON
strings, absent when zero (a failed txn has no ``succeeded``, a PUT event
has no ``type``).  etcd's revisions are ours, unchanged.

- create  = txn: compare CREATE create_revision == 0 -> put
- update  = txn: compare MOD mod_revision == expected (or CREATE > 0 when
  unconditional) -> put with prev_kv; else range, to tell "not found" from
  "conflict" and to return the current value
- delete  = the same guard -> delete_range with prev_kv
- watch   = POST /v3/watch with a create_request (prev_kv, start_revision =
  after + 1); the response is a chunked stream of newline-separated JSON
  messages.  A cancel carrying ``compact_revision`` means CompactedError.
  A dropped stream is resumed from the last revision seen, on the next
  endpoint, so callers see no gap and no duplicate.
- compaction errors (``mvcc: required revision has been compacted``) and
  future revisions map to CompactedError and FutureRevisionError.

etcd does not report its compacted revision; ``compacted_revision`` finds it
by a binary search of cheap count-only ranges at old revisions (etcd refuses
exactly the revisions below the compaction point).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from pyk8s.storage import keyrange
from pyk8s.storage.interface import (
    CompactedError,
    Event,
    EventType,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    RevisionConflictError,
    StorageError,
)

WATCH_RETRIES = 5
PROBE_KEY = "\x00pyk8s-compaction-probe"


def _b64(s: str | bytes) -> str:
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def _unb64(s: str | None) -> bytes:
    return base64.b64decode(s) if s else b""


def _key_range(prefix: str, start_after: str = "") -> dict[str, str]:
    start = keyrange.range_start(prefix, start_after)
    end = keyrange.prefix_end(prefix)
    # etcd: range_end "\0" means "every key >= key".
    return {"key": _b64(start or "\x00"), "range_end": _b64(end) if end is not None else _b64(b"\x00")}


def _kv(d: dict[str, Any]) -> KeyValue:
    return KeyValue(
        _unb64(d["key"]).decode(),
        _unb64(d.get("value")),
        int(d.get("create_revision", 0)),
        int(d.get("mod_revision", 0)),
    )


class EtcdStorage:
    def __init__(self, endpoints: list[str], *, request_timeout: float = 30.0) -> None:
        if not endpoints:
            raise ValueError("no etcd endpoints")
        self.endpoints = list(endpoints)
        self._current = 0  # index into endpoints
        self._timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None
        self._compacted_hint = 0
        self._streams: set[aiohttp.ClientResponse] = set()  # open watch streams, cut on close()

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=60)
        self._session = aiohttp.ClientSession(connector=connector, json_serialize=lambda o: orjson.dumps(o).decode())
        await self.current_revision()  # fail fast when etcd is not there

    async def close(self) -> None:
        session, self._session = self._session, None
        for resp in list(self._streams):
            resp.close()  # wakes the watch readers, which then end quietly
        if session is not None:
            await session.close()

    # -- transport -----------------------------------------------------------

    async def _post(self, path: str, body: dict[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        """POST to the current endpoint, moving to the next one when it is down.
        A write is retried elsewhere only when the connection could not even be
        opened: once sent, a lost answer may hide a write that was applied."""
        if self._session is None:
            raise StorageError("storage is closed")
        last_error: Exception | None = None
        for _ in range(len(self.endpoints)):
            url = self.endpoints[self._current] + path
            try:
                async with self._session.post(
                    url, data=orjson.dumps(body), timeout=aiohttp.ClientTimeout(total=self._timeout)
                ) as resp:
                    raw = await resp.read()
                    data: dict[str, Any] = orjson.loads(raw) if raw else {}
                    if resp.status != 200:
                        raise self._error(data, resp.status)
                    return data
            except (TimeoutError, aiohttp.ClientConnectionError) as e:
                last_error = e
                self._current = (self._current + 1) % len(self.endpoints)
                if not idempotent and not isinstance(e, aiohttp.ClientConnectorError):
                    raise StorageError(f"etcd write outcome unknown: {e!r}") from e
        raise StorageError(f"etcd unreachable: {last_error!r}")

    def _error(self, data: dict[str, Any], status: int) -> StorageError:
        msg = str(data.get("message") or data.get("error") or data)
        if "required revision has been compacted" in msg:
            return CompactedError(0, self._compacted_hint)
        if "future revision" in msg:
            return FutureRevisionError(0, 0)
        return StorageError(f"etcd error (HTTP {status}): {msg}")

    # -- reads ---------------------------------------------------------------

    async def current_revision(self) -> int:
        data = await self._post("/v3/kv/range", {"key": _b64(PROBE_KEY), "count_only": True})
        return int(data["header"]["revision"])

    async def _range(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self._post("/v3/kv/range", body)
        except CompactedError:
            raise CompactedError(int(body.get("revision", 0)), await self.compacted_revision()) from None
        except FutureRevisionError:
            raise FutureRevisionError(int(body.get("revision", 0)), await self.current_revision()) from None

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        body: dict[str, Any] = {"key": _b64(key)}
        if revision:
            body["revision"] = revision
        data = await self._range(body)
        kvs = data.get("kvs")
        return _kv(kvs[0]) if kvs else None

    async def list(self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = "") -> ListResult:
        body: dict[str, Any] = _key_range(prefix, start_after)
        if revision:
            body["revision"] = revision
        if limit:
            body["limit"] = limit
        data = await self._range(body)
        items = [_kv(d) for d in data.get("kvs", ())]
        count = int(data.get("count", 0))
        # The header carries etcd's current revision, not the one a pinned read used.
        read_at = revision or int(data["header"]["revision"])
        return ListResult(items, read_at, bool(data.get("more")), count - len(items))

    async def count(self, prefix: str) -> int:
        body: dict[str, Any] = {**_key_range(prefix), "count_only": True}
        return int((await self._post("/v3/kv/range", body)).get("count", 0))

    async def _readable(self, revision: int) -> bool:
        try:
            await self._post("/v3/kv/range", {"key": _b64(PROBE_KEY), "revision": revision, "count_only": True})
        except CompactedError:
            return False
        return True

    async def compacted_revision(self) -> int:
        """The lowest revision etcd still serves, or 0 when never compacted.
        Our hint (from our own compactions and watch cancels) is a lower bound:
        one probe confirms it, otherwise a binary search moves it up."""
        lo, hi = max(self._compacted_hint, 1), await self.current_revision()
        if not await self._readable(lo):
            lo += 1
            # Invariant: ``hi`` is readable and every revision below ``lo`` is not.
            while lo < hi:
                mid = (lo + hi) // 2
                if await self._readable(mid):
                    hi = mid
                else:
                    lo = mid + 1
        self._compacted_hint = lo if lo > 1 else 0
        return self._compacted_hint

    # -- writes --------------------------------------------------------------

    async def _txn(self, compare: list[dict[str, Any]], success: dict[str, Any], key: str) -> dict[str, Any]:
        body = {"compare": compare, "success": [success], "failure": [{"request_range": {"key": _b64(key)}}]}
        return await self._post("/v3/kv/txn", body, idempotent=False)

    async def create(self, key: str, value: bytes) -> KeyValue:
        compare = [{"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}]
        data = await self._txn(compare, {"request_put": {"key": _b64(key), "value": _b64(value)}}, key)
        if not data.get("succeeded"):
            raise KeyExistsError(key)
        rev = int(data["header"]["revision"])
        return KeyValue(key, bytes(value), rev, rev)

    def _guard(self, key: str, expected_revision: int) -> list[dict[str, Any]]:
        if expected_revision:
            return [{"key": _b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(expected_revision)}]
        return [{"key": _b64(key), "target": "CREATE", "result": "GREATER", "create_revision": "0"}]

    @staticmethod
    def _failed(key: str, data: dict[str, Any]) -> StorageError:
        kvs = data["responses"][0]["response_range"].get("kvs")
        if not kvs:
            return KeyNotFoundError(key)
        return RevisionConflictError(key, _kv(kvs[0]))

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        put = {"request_put": {"key": _b64(key), "value": _b64(value), "prev_kv": True}}
        data = await self._txn(self._guard(key, expected_revision), put, key)
        if not data.get("succeeded"):
            raise self._failed(key, data)
        prev = data["responses"][0]["response_put"].get("prev_kv", {})
        rev = int(data["header"]["revision"])
        return KeyValue(key, bytes(value), int(prev.get("create_revision", rev)), rev)

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        dr = {"request_delete_range": {"key": _b64(key), "prev_kv": True}}
        data = await self._txn(self._guard(key, expected_revision), dr, key)
        if not data.get("succeeded"):
            raise self._failed(key, data)
        prevs = data["responses"][0]["response_delete_range"].get("prev_kvs") or []
        if not prevs:  # lost a race with another deleter after the guard: etcd deleted nothing
            raise KeyNotFoundError(key)
        prev = _kv(prevs[0])
        return KeyValue(key, prev.value, prev.create_revision, int(data["header"]["revision"]))

    async def compact(self, revision: int) -> None:
        try:
            await self._post("/v3/kv/compaction", {"revision": revision})
        except CompactedError:
            pass  # already compacted at or past ``revision``
        except FutureRevisionError:
            raise FutureRevisionError(revision, await self.current_revision()) from None
        self._compacted_hint = max(self._compacted_hint, revision)

    # -- watch ---------------------------------------------------------------

    def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        return self._watch(prefix, after_revision)

    async def _watch(self, prefix: str, after_revision: int) -> AsyncIterator[Event]:
        last = after_revision
        failures = 0
        while True:
            try:
                async for batch in self._watch_stream(prefix, last):
                    failures = 0
                    for ev in batch:
                        if ev.revision > last:
                            last = ev.revision
                            yield ev
            except (TimeoutError, aiohttp.ClientError) as e:
                if self._session is None:
                    return  # the store was closed under us
                failures += 1
                if failures > WATCH_RETRIES:
                    raise StorageError(f"etcd watch failed: {e}") from e
                self._current = (self._current + 1) % len(self.endpoints)
                await asyncio.sleep(0.1 * failures)
                continue
            if self._session is None:
                return  # closed
            failures += 1  # the server ended the stream: resume
            if failures > WATCH_RETRIES:
                raise StorageError("etcd watch stream keeps ending")

    async def _watch_stream(self, prefix: str, after: int) -> AsyncIterator[list[Event]]:
        if self._session is None:
            raise StorageError("storage is closed")
        create = {**_key_range(prefix), "start_revision": after + 1, "prev_kv": True}
        url = self.endpoints[self._current] + "/v3/watch"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None, connect=self._timeout)
        async with self._session.post(url, data=orjson.dumps({"create_request": create}), timeout=timeout) as resp:
            if resp.status != 200:
                raise self._error(orjson.loads(await resp.read() or b"{}"), resp.status)
            buf = b""
            self._streams.add(resp)
            try:
                async for chunk in resp.content.iter_any():
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if line.strip():
                            yield self._watch_message(orjson.loads(line), after)
            finally:
                self._streams.discard(resp)

    def _watch_message(self, msg: dict[str, Any], after: int) -> list[Event]:
        if "error" in msg:
            raise StorageError(f"etcd watch error: {msg['error']}")
        result = msg.get("result", {})
        if result.get("canceled"):
            compact = int(result.get("compact_revision", 0))
            if compact:
                self._compacted_hint = max(self._compacted_hint, compact)
                raise CompactedError(after, compact)
            raise StorageError(f"etcd canceled the watch: {result.get('cancel_reason', '')}")
        return [self._event(e) for e in result.get("events", ())]

    @staticmethod
    def _event(e: dict[str, Any]) -> Event:
        kv = _kv(e["kv"])
        prev = _kv(e["prev_kv"]) if e.get("prev_kv") else None
        if e.get("type") == "DELETE":
            value, create = (prev.value, prev.create_revision) if prev else (b"", 0)
            return Event(EventType.DELETE, KeyValue(kv.key, value, create, kv.mod_revision), prev)
        if kv.create_revision == kv.mod_revision:
            return Event(EventType.CREATE, kv, None)
        return Event(EventType.UPDATE, kv, prev)
