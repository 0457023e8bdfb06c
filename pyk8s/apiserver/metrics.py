"""The API server's own metrics, served at ``/metrics`` in Prometheus' text format.

The families and labels are kube-apiserver's (v1.32), so dashboards and alerts written for it read
ours unchanged:

* ``apiserver_request_total{verb,dry_run,group,version,resource,subresource,scope,component,code}``
* ``apiserver_request_duration_seconds{verb,dry_run,group,version,resource,subresource,scope,component}``
  (a histogram with upstream's buckets; watches are observed when they end, as upstream does)
* ``apiserver_longrunning_requests{verb,group,version,resource,subresource,scope,component}``: watches
  and streaming subresources open now
* ``apiserver_storage_objects{resource}``: stored objects per resource (``pods``, ``deployments.apps``),
  counted in storage when ``/metrics`` is read (at most once a second) rather than by upstream's
  one-minute timer, so a scrape is never a minute stale
* ``etcd_request_duration_seconds{operation,type}`` and ``etcd_requests_total{operation,type}``: every
  storage call, whatever the driver (SQLite or etcd); ``type`` is the resource as above, because our
  storage keys carry no Go type name.
* ``apiserver_current_inflight_requests{request_kind}``: the most requests in flight at once, ``readOnly``
  (GET and LIST) and ``mutating`` (the rest) apart, long-running ones excluded as upstream's in-flight
  limit excludes them, over the current and the previous second (upstream keeps the maximum of the last
  second: the same figure read at any moment rather than at its one-second ticks)
* ``apiserver_watch_events_total{group,version,kind}``: events written to watch clients (bookmarks
  included), counted per write, ``kind`` the watched resource's kind as upstream's (v1.32) labels name it

A watch that the client ends is counted with the code it was answered with (200), not as a failure.

The exposition is prometheus-client's, from a registry of our own (several servers may share a
process in tests).  ``request_labels`` is what the request filter (``filters/requestmetrics.py``)
derives per request from the request's ``RequestInfo`` (parsed once, ``apiserver/requestinfo.py``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from pyk8s.apiserver.requestinfo import LONG_RUNNING_SUBRESOURCES, RequestInfo, long_running, parse, request_info
from pyk8s.storage.interface import Event, KeyValue, ListResult, Storage

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

COMPONENT = "apiserver"
# kube-apiserver's buckets for request and etcd latencies (seconds).
LATENCY_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
                   10.0, 15.0, 20.0, 30.0, 45.0, 60.0)
REQUEST_LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
LONGRUNNING_LABELS = ("verb", "group", "version", "resource", "subresource", "scope", "component")
_METHOD_VERBS = {"GET": "GET", "HEAD": "GET", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE",
                 "OPTIONS": "OPTIONS"}
STORAGE_COUNT_INTERVAL = 1.0
# Upstream's non-mutating verbs are get, list and watch; watches are long-running and not counted.
READ_ONLY_VERBS = frozenset({"GET", "LIST"})
READ_ONLY, MUTATING = "readOnly", "mutating"


def request_labels(method: str, path: str, query: Mapping[str, str],
                   content_type: str = "") -> tuple[tuple[str, ...], bool]:
    """``labels_of`` a request given by its parts."""
    return labels_of(parse(method, path, query), method, query, content_type)


def labels_of(info: RequestInfo, method: str, query: Mapping[str, str],
              content_type: str = "") -> tuple[tuple[str, ...], bool]:
    """(labels in ``REQUEST_LABELS`` order, long-running?) for one request, as upstream's RequestInfo
    names it: verbs LIST, WATCH, APPLY, CONNECT and DELETECOLLECTION besides the HTTP ones; scope
    ``resource`` (one named object), ``namespace`` or ``cluster``; non-resource paths have empty labels."""
    verb = _METHOD_VERBS.get(method, method)
    dry_run = "All" if query.get("dryRun") == "All" else ""
    if not info.resource_request:
        return (verb, dry_run, "", "", "", "", "", COMPONENT), False
    name, subresource = info.name, info.subresource
    scope = "resource" if name else ("namespace" if info.namespaced else "cluster")
    if info.verb in ("watch", "list", "deletecollection", "proxy"):
        verb = info.verb.upper()
    elif verb == "GET" and info.watch_param:  # a named GET with ?watch=true is served as a watch
        verb = "WATCH"
    elif verb == "PATCH" and content_type.startswith("application/apply-patch"):
        verb = "APPLY"
    is_long = long_running(info, method)
    if subresource in LONG_RUNNING_SUBRESOURCES and verb in ("GET", "POST") and subresource != "log":
        verb = "CONNECT"
    return (verb, dry_run, info.api_group, info.api_version, info.resource, subresource, scope, COMPONENT), \
        is_long


def resource_of_key(key: str) -> str:
    """``/registry/apps/deployments/ns/x`` -> ``deployments.apps``; ``/registry/core/pods/...`` -> ``pods``."""
    parts = key.split("/", 4)
    if len(parts) < 4 or parts[1] != "registry":
        return ""
    group, plural = parts[2], parts[3].split(".", 1)[0]
    return plural if group == "core" else f"{plural}.{group}"


class APIServerMetrics:
    """One server's metric families, its exposition, and the storage counts behind ``apiserver_storage_objects``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.requests = Counter("apiserver_request_total", "Counter of apiserver requests broken out for each verb, "
                                "dry run value, group, version, resource, scope, component, and HTTP response code.",
                                (*REQUEST_LABELS, "code"), registry=r)
        self.latency = Histogram("apiserver_request_duration_seconds", "Response latency distribution in seconds for "
                                 "each verb, dry run value, group, version, resource, subresource, scope and component.",
                                 REQUEST_LABELS, buckets=LATENCY_BUCKETS, registry=r)
        self.longrunning = Gauge("apiserver_longrunning_requests", "Gauge of all active long-running apiserver "
                                 "requests broken out by verb, group, version, resource, scope and component. Not all "
                                 "requests are tracked this way.", LONGRUNNING_LABELS, registry=r)
        self.storage_objects = Gauge("apiserver_storage_objects", "Number of stored objects at the time of last check "
                                     "split by kind.", ("resource",), registry=r)
        self.storage_latency = Histogram("etcd_request_duration_seconds", "Etcd request latency in seconds for each "
                                         "operation and object type.", ("operation", "type"),
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.storage_requests = Counter("etcd_requests_total", "Etcd request counts for each operation and object "
                                        "type.", ("operation", "type"), registry=r)
        self.current_inflight = Gauge("apiserver_current_inflight_requests", "Maximal number of currently used "
                                      "inflight request limit of this apiserver per request kind in last second.",
                                      ("request_kind",), registry=r)
        self.inflight = InflightWatermark()
        self.watch_events = Counter("apiserver_watch_events_total", "Number of events sent in watch clients",
                                    ("group", "version", "kind"), registry=r)
        self._counted_at = 0.0
        self._source: Registry | None = None

    def count_objects_of(self, registry: Registry | None) -> None:
        self._source = registry

    async def refresh_storage_objects(self) -> None:
        """Count each served resource's stored objects (once per ``STORAGE_COUNT_INTERVAL`` at most)."""
        source = self._source
        now = time.monotonic()
        if source is None or now - self._counted_at < STORAGE_COUNT_INTERVAL:
            return
        self._counted_at = now
        seen: set[str] = set()
        storage = getattr(source, "storage", None)
        if storage is None:
            return
        for rt in list(source.scheme.all()):
            if "create" not in rt.verbs or "list" not in rt.verbs:
                continue  # virtual resources (bindings, reviews, componentstatuses) store nothing
            store = source.store(rt.group, rt.plural)
            prefix = getattr(store, "prefix", None)
            if not prefix or prefix in seen:
                continue
            seen.add(prefix)
            try:
                count = await storage.count(prefix)
            except Exception:  # noqa: BLE001 - a storage hiccup leaves the last figure, as upstream's timer does
                continue
            self.storage_objects.labels(resource_of_key(prefix)).set(count)

    def exposition(self) -> tuple[bytes, str]:
        for kind in (READ_ONLY, MUTATING):
            self.current_inflight.labels(kind).set(self.inflight.watermark(kind))
        return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4  # what kube-apiserver answers

    def watch_tally(self, group: str, version: str) -> WatchEventTally:
        return WatchEventTally(self.watch_events, group, version)


# Where the request-metrics filter leaves this server's metrics for a watch handler (``WatchEventTally``).
METRICS_KEY = web.RequestKey("pyk8s.apiserver.metrics", APIServerMetrics)


class InflightWatermark:
    """Requests in flight per kind, and the most there were at once in the current and the previous second
    (the clock: the request filter's ``time.perf_counter()``, whole seconds)."""

    __slots__ = ("current", "high", "previous", "second")

    def __init__(self) -> None:
        self.current = {READ_ONLY: 0, MUTATING: 0}
        self.high = {READ_ONLY: 0, MUTATING: 0}
        self.previous = {READ_ONLY: 0, MUTATING: 0}
        self.second = 0

    def _roll(self, now: float) -> None:
        second = int(now)
        if second != self.second:
            self.previous = self.high if second == self.second + 1 else dict(self.current)
            self.high = dict(self.current)
            self.second = second

    def started(self, kind: str, now: float) -> None:
        self._roll(now)
        used = self.current[kind] = self.current[kind] + 1
        if used > self.high[kind]:
            self.high[kind] = used

    def ended(self, kind: str) -> None:
        self.current[kind] -= 1

    def watermark(self, kind: str, now: float | None = None) -> int:
        self._roll(time.perf_counter() if now is None else now)
        return max(self.high[kind], self.previous[kind], self.current[kind])


class WatchEventTally:
    """One watch's share of ``apiserver_watch_events_total``: the watch handler adds what it writes; the
    kind is taken from the first object it sees (the watched resource's; a Status error has none)."""

    __slots__ = ("family", "group", "version", "child")

    def __init__(self, family: Counter, group: str, version: str) -> None:
        self.family = family
        self.group = group
        self.version = version
        self.child: Any = None

    def note(self, obj: dict[str, Any]) -> None:
        if self.child is None:
            kind = obj.get("kind")
            if isinstance(kind, str) and kind and kind != "Status":
                self.child = self.family.labels(self.group, self.version, kind)

    def add(self, events: int) -> None:
        if self.child is not None and events:
            self.child.inc(events)


def sent_code(request: Any) -> str:
    """The code a request cut short was answered with: 200 once a stream (a watch) sent its headers (the
    client went away), else 500."""
    writer = getattr(request, "writer", None)
    return "200" if getattr(writer, "output_size", 0) else "500"


class InstrumentedStorage:
    """A ``Storage`` that times every call into ``etcd_request_duration_seconds`` and passes it on."""

    def __init__(self, inner: Storage, metrics: APIServerMetrics) -> None:
        self.inner = inner
        self._latency = metrics.storage_latency
        self._requests = metrics.storage_requests
        # prometheus-client's ``labels()`` validates and locks on every call: the children of each
        # (operation, resource) are kept here (a few per resource type).
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}

    def _observe(self, operation: str, key: str, started: float) -> None:
        seconds = time.perf_counter() - started
        labels = (operation, resource_of_key(key))
        children = self._children.get(labels)
        if children is None:
            children = self._children[labels] = (self._latency.labels(*labels), self._requests.labels(*labels))
        children[0].observe(seconds)
        children[1].inc()

    def __getattr__(self, name: str) -> Any:  # start, close, compact, revisions...: passed through
        return getattr(self.inner, name)

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        started = time.perf_counter()
        try:
            return await self.inner.get(key, revision=revision)
        finally:
            self._observe("get", key, started)

    async def list(self, prefix: str, **kwargs: Any) -> ListResult:
        started = time.perf_counter()
        try:
            return await self.inner.list(prefix, **kwargs)
        finally:
            self._observe("list", prefix, started)

    async def count(self, prefix: str) -> int:
        started = time.perf_counter()
        try:
            return await self.inner.count(prefix)
        finally:
            self._observe("count", prefix, started)

    async def create(self, key: str, value: bytes) -> KeyValue:
        started = time.perf_counter()
        try:
            return await self.inner.create(key, value)
        finally:
            self._observe("create", key, started)

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        started = time.perf_counter()
        try:
            return await self.inner.update(key, value, expected_revision=expected_revision)
        finally:
            self._observe("update", key, started)

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        started = time.perf_counter()
        try:
            return await self.inner.delete(key, expected_revision=expected_revision)
        finally:
            self._observe("delete", key, started)

    def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        self._requests.labels("watch", resource_of_key(prefix)).inc()
        return self.inner.watch(prefix, after_revision=after_revision)


def watch_tally_for(request: Any) -> WatchEventTally | None:
    """The event tally of a watch request the request-metrics filter saw (None without metrics)."""
    metrics = request.get(METRICS_KEY)
    if metrics is None:
        return None
    info = request_info(request)
    return metrics.watch_tally(info.api_group, info.api_version)
