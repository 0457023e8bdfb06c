"""Recording core/v1 Events about objects (client-go's EventRecorder).

``recorder.event(obj, "Normal", "Scheduled", "Successfully assigned ...")`` is
synchronous and never blocks: it queues the event (dropping it when 1000 are
already queued, as upstream) and ``run()`` writes them in order.  ``emit()``
writes one at once (awaitable).

Each Event carries ``involvedObject`` (kind, namespace, name, uid,
apiVersion, resourceVersion), ``reason``, ``message``, ``type``,
``source.component``/``host``, ``reportingComponent``/``reportingInstance``,
``firstTimestamp``/``lastTimestamp`` and ``count``.  It lives in the object's
namespace ("default" for cluster-scoped objects) and is named
``<object name>.<hex nanoseconds>``.

Aggregation as upstream's correlator: the same object, type, reason and
message seen again within ``window`` (10 min) does not create a new Event; the
existing one gets a strategic-merge PATCH of ``count`` and ``lastTimestamp``.
If that Event has disappeared (404) a fresh one is created.  Upstream's
per-object spam filter and similar-message aggregation are not implemented.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from dataclasses import dataclass
from typing import Any

from pyk8s.client.errors import ApiError, is_already_exists, is_not_found
from pyk8s.client.rest import REQUEST_ERRORS, Client, DynamicResource
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]

EVENTS = DynamicResource("", "v1", "events", True, "Event")
NORMAL = "Normal"
WARNING = "Warning"
QUEUE_LIMIT = 1000


def time_str(dt: datetime.datetime) -> str:
    """metav1.Time: RFC 3339 to the second."""
    return dt.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_reference(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    ref: Obj = {"kind": obj.get("kind", ""), "apiVersion": obj.get("apiVersion", ""), "name": meta.get("name", "")}
    for src, dst in (("namespace", "namespace"), ("uid", "uid"), ("resourceVersion", "resourceVersion")):
        if meta.get(src):
            ref[dst] = meta[src]
    return ref


@dataclass
class _Seen:
    name: str
    namespace: str
    count: int
    first: str
    last_mono: float


class EventRecorder:
    def __init__(self, client: Client, *, component: str, host: str = "", clock: Clock = REAL_CLOCK,
                 window: float = 600.0) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.clock = clock
        self.window = window
        self._queue: asyncio.Queue[tuple[Obj, str, str, str]] = asyncio.Queue(QUEUE_LIMIT)
        self._seen: dict[tuple[str, ...], _Seen] = {}
        self.dropped = 0
        self._last_nanos = 0

    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        """Queue an event about ``obj`` (a full object or an ObjectReference-shaped dict)."""
        ref = obj if "metadata" not in obj else object_reference(obj)
        try:
            self._queue.put_nowait((ref, type_, reason, message))
        except asyncio.QueueFull:
            self.dropped += 1

    def eventf(self, obj: Obj, type_: str, reason: str, fmt: str, *args: Any) -> None:
        self.event(obj, type_, reason, fmt % args if args else fmt)

    async def run(self) -> None:
        """Write queued events until cancelled."""
        while True:
            ref, type_, reason, message = await self._queue.get()
            try:
                await self._write(ref, type_, reason, message)
            except REQUEST_ERRORS as exc:
                log.warning("event %s/%s %s dropped: %s", ref.get("namespace", ""), ref.get("name"), reason, exc)

    async def flush(self) -> None:
        """Write everything queued now (for tests and shutdown)."""
        while not self._queue.empty():
            ref, type_, reason, message = self._queue.get_nowait()
            await self._write(ref, type_, reason, message)

    async def emit(self, obj: Obj, type_: str, reason: str, message: str) -> Obj:
        """Write one event now (created or aggregated); returns the stored Event."""
        ref = obj if "metadata" not in obj else object_reference(obj)
        return await self._write(ref, type_, reason, message)

    async def _write(self, ref: Obj, type_: str, reason: str, message: str) -> Obj:
        self._expire()
        key = (ref.get("kind", ""), ref.get("namespace", ""), ref.get("name", ""), ref.get("uid", ""),
               ref.get("apiVersion", ""), type_, reason, message)
        now = self.clock.now()
        seen = self._seen.get(key)
        if seen is not None:
            patch = {"count": seen.count + 1, "lastTimestamp": time_str(now)}
            try:
                updated = await self.client.patch(EVENTS, seen.name, patch, namespace=seen.namespace)
            except ApiError as exc:
                if not is_not_found(exc):
                    raise
            else:
                seen.count += 1
                seen.last_mono = self.clock.monotonic()
                return updated
        try:
            created = await self.client.create(EVENTS, self._new_event(ref, type_, reason, message, now))
        except ApiError as exc:
            if not is_already_exists(exc):
                raise
            # Another recorder named its event for the same object in the same microsecond.
            created = await self.client.create(EVENTS, self._new_event(ref, type_, reason, message, now))
        meta = created.get("metadata") or {}
        self._seen[key] = _Seen(meta.get("name", ""), meta.get("namespace", ""), int(created.get("count") or 1),
                                time_str(now), self.clock.monotonic())
        return created

    def _new_event(self, ref: Obj, type_: str, reason: str, message: str, now: datetime.datetime) -> Obj:
        # Unique per recorder even when the clock stands still (a fake clock, or two events in one tick).
        nanos = max(int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000, self._last_nanos + 1)
        self._last_nanos = nanos
        namespace = ref.get("namespace") or "default"
        stamp = time_str(now)
        source: Obj = {"component": self.component}
        if self.host:
            source["host"] = self.host
        event: Obj = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{ref.get('name', '')}.{nanos:x}", "namespace": namespace},
            "involvedObject": ref, "reason": reason, "message": message, "type": type_,
            "source": source, "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": self.component,
        }
        if self.host:
            event["reportingInstance"] = self.host
        return event

    def _expire(self) -> None:
        horizon = self.clock.monotonic() - self.window
        for key in [k for k, s in self._seen.items() if s.last_mono < horizon]:
            del self._seen[key]
