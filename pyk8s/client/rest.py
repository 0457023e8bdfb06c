"""An asyncio REST client for the Kubernetes API (aiohttp + orjson).

Controllers, the scheduler and agents reach the API server only through this
``Client``, so each can run as its own process.  One pooled
``aiohttp.ClientSession`` carries every request; it is opened on first use
(it needs a running loop) and closed by ``close()`` / ``async with``.

Resources are addressed by anything shaped like
``pyk8s.machinery.scheme.ResourceType`` (``group``, ``version``, ``plural``,
``namespaced``): the typed form passes a scheme entry (``core_v1`` kinds are in
``SCHEME`` once ``pyk8s.api`` is imported), the dynamic form builds one with
``Client.resource(group, version, plural)``.  Objects are plain dicts, both
ways.

``ClientConfig.unix_socket`` swaps TCP/TLS for a Unix socket: the cheap
local transport for loops running next to the API server (``server`` is
then only used for the URL's host part, e.g. ``http://localhost``).

Failures come back as ``ApiError`` carrying the server's Status.  ``watch``
yields ``(type, object)`` pairs from the chunked NDJSON stream and raises an
``ApiError`` for an ``ERROR`` event (a 410 there means "relist").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import quote

import aiohttp
import orjson

from pyk8s.client.errors import ApiError
from pyk8s.client.kubeconfig import ClientConfig, load_kubeconfig
from pyk8s.machinery.scheme import SCHEME
from pyk8s.util.clock import REAL_CLOCK, Clock

Obj = dict[str, Any]
PatchType = Literal["strategic", "merge", "json", "apply"]

#: Failures that are not API errors: connection refused/reset, TLS, timeouts.
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, OSError, TimeoutError)
# What one request can fail with: an error answer from the server, or the transport under it.
REQUEST_ERRORS: tuple[type[BaseException], ...] = (ApiError, *TRANSPORT_ERRORS)

PATCH_CONTENT_TYPES: dict[str, str] = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


class Resource(Protocol):
    """What the client needs to build a path (``ResourceType`` has these)."""

    @property
    def group(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def plural(self) -> str: ...
    @property
    def namespaced(self) -> bool: ...


@dataclass(frozen=True)
class DynamicResource:
    """A resource the scheme may not know (e.g. a custom resource)."""

    group: str
    version: str
    plural: str
    namespaced: bool = True
    kind: str = ""


def group_version_path(group: str, version: str) -> str:
    return f"/api/{version}" if not group else f"/apis/{group}/{version}"


def resource_path(rt: Resource, *, namespace: str | None = None, name: str = "", subresource: str = "") -> str:
    """``/api/v1/namespaces/ns/pods/name/status`` and friends."""
    path = group_version_path(rt.group, rt.version)
    if rt.namespaced and namespace:
        path += f"/namespaces/{quote(namespace, safe='')}"
    path += f"/{rt.plural}"
    if name:
        path += f"/{quote(name, safe='')}"
        if subresource:
            path += f"/{subresource}"
    return path


def _selector(value: str | Mapping[str, str] | None) -> str | None:
    """Selectors as strings, or ``{"app": "web"}`` for equality terms."""
    if value is None or isinstance(value, str):
        return value or None
    return ",".join(f"{k}={v}" for k, v in value.items())


def _params(**kwargs: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in kwargs.items():
        if value is None or value == "":
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


class Client:
    """See the module docstring.  Safe to share between tasks of one loop."""

    def __init__(self, config: ClientConfig, *, user_agent: str = "pyk8s-client", field_manager: str = "",
                 request_timeout: float = 60.0, max_connections: int = 100, max_retries: int = 10,
                 clock: Clock = REAL_CLOCK) -> None:
        self.config = config
        self.user_agent = user_agent
        self.field_manager = field_manager
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.max_retries = max_retries
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, *, context: str | None = None, **kwargs: Any) -> Client:
        return cls(load_kubeconfig(path, context=context), **kwargs)

    @property
    def namespace(self) -> str:
        """The kubeconfig context's namespace ("default" if unset)."""
        return self.config.namespace

    # --- lifecycle -----------------------------------------------------------

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector: aiohttp.BaseConnector
            if self.config.unix_socket:
                connector = aiohttp.UnixConnector(self.config.unix_socket, limit=self.max_connections)
            else:
                ssl_ctx = self.config.ssl_context()
                connector = aiohttp.TCPConnector(limit=self.max_connections, ssl=ssl_ctx if ssl_ctx else False)
            headers = {"Accept": "application/json", "User-Agent": self.user_agent, **self.config.headers()}
            # No overall timeout: watches are long; per-request limits are set per call.
            self._session = aiohttp.ClientSession(connector=connector, headers=headers,
                                                  timeout=aiohttp.ClientTimeout(total=None, connect=10),
                                                  json_serialize=lambda o: orjson.dumps(o).decode())
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- resources -----------------------------------------------------------

    @staticmethod
    def resource(group: str, version: str, plural: str, *, namespaced: bool | None = None) -> Resource:
        """The scheme's entry for group/version/plural, else a ``DynamicResource``."""
        rt = SCHEME.get(group, version, plural)
        if rt is not None and namespaced in (None, rt.namespaced):
            return rt
        return DynamicResource(group, version, plural, True if namespaced is None else namespaced)

    def _ns(self, rt: Resource, namespace: str | None, obj: Obj | None = None) -> str | None:
        if not rt.namespaced:
            return None
        if namespace:
            return namespace
        if obj is not None and (obj.get("metadata") or {}).get("namespace"):
            return str(obj["metadata"]["namespace"])
        return self.config.namespace

    # --- raw requests --------------------------------------------------------

    async def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      request_timeout: float | None = None) -> Obj:
        """One request; the decoded JSON reply, or ``ApiError`` for status >= 400.

        A 429 or 5xx carrying ``Retry-After`` (API priority and fairness, a
        server starting up) was not processed: wait that long and try again,
        at most ``max_retries`` times, as client-go does.
        """
        data = None if body is None else orjson.dumps(body)
        headers = {"Content-Type": content_type} if data is not None else None
        limit = aiohttp.ClientTimeout(total=request_timeout or self.request_timeout)
        attempt = 0
        while True:
            async with self.session().request(method, self.config.server + path, params=params, data=data,
                                              headers=headers, timeout=limit) as resp:
                raw = await resp.read()
                if resp.status < 400:
                    return orjson.loads(raw) if raw else {}
                delay = _retry_after(resp.status, resp.headers.get("Retry-After"))
                if delay is None or attempt >= self.max_retries:
                    raise ApiError.from_response(resp.status, raw)
            attempt += 1
            await self.clock.sleep(delay)

    # --- verbs ----------------------------------------------------------------

    async def get(self, rt: Resource, name: str, *, namespace: str | None = None,
                  resource_version: str | None = None) -> Obj:
        return await self.request("GET", resource_path(rt, namespace=self._ns(rt, namespace), name=name),
                                  params=_params(resourceVersion=resource_version))

    async def list(self, rt: Resource, *, namespace: str | None = None,
                   label_selector: str | Mapping[str, str] | None = None, field_selector: str | Mapping[str, str] | None = None,
                   limit: int | None = None, continue_: str | None = None, resource_version: str | None = None,
                   resource_version_match: str | None = None) -> Obj:
        """One list call.  ``namespace=None`` lists across all namespaces."""
        params = _params(labelSelector=_selector(label_selector), fieldSelector=_selector(field_selector),
                         limit=limit, resourceVersion=resource_version,
                         resourceVersionMatch=resource_version_match, **{"continue": continue_})
        return await self.request("GET", resource_path(rt, namespace=namespace if rt.namespaced else None),
                                  params=params)

    async def list_pages(self, rt: Resource, *, page_size: int = 500, **kwargs: Any) -> AsyncIterator[Obj]:
        """Every page of a paged list, following ``metadata.continue``."""
        token: str | None = None
        while True:
            page = await self.list(rt, limit=page_size, continue_=token, **kwargs)
            yield page
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return

    async def list_all(self, rt: Resource, *, page_size: int = 500, **kwargs: Any) -> Obj:
        """All items in one list object; ``metadata.resourceVersion`` is the first page's (a consistent snapshot)."""
        result: Obj | None = None
        async for page in self.list_pages(rt, page_size=page_size, **kwargs):
            if result is None:
                result = page
                result["items"] = list(page.get("items") or [])
            else:
                result["items"].extend(page.get("items") or [])
        assert result is not None
        result.setdefault("metadata", {}).pop("continue", None)
        return result

    async def create(self, rt: Resource, obj: Obj, *, namespace: str | None = None,
                     field_manager: str | None = None, dry_run: bool = False, subresource: str = "",
                     name: str = "") -> Obj:
        """POST; with ``subresource`` (binding, eviction) it goes to ``…/{name}/{subresource}``."""
        path = resource_path(rt, namespace=self._ns(rt, namespace, obj), name=name, subresource=subresource)
        return await self.request("POST", path, body=obj, params=self._write_params(field_manager, dry_run))

    async def update(self, rt: Resource, obj: Obj, *, namespace: str | None = None, subresource: str = "",
                     field_manager: str | None = None, dry_run: bool = False) -> Obj:
        """PUT the whole object; a ``metadata.resourceVersion`` in it makes this conditional (409 if stale)."""
        name = obj["metadata"]["name"]
        path = resource_path(rt, namespace=self._ns(rt, namespace, obj), name=name, subresource=subresource)
        return await self.request("PUT", path, body=obj, params=self._write_params(field_manager, dry_run))

    async def update_status(self, rt: Resource, obj: Obj, **kwargs: Any) -> Obj:
        return await self.update(rt, obj, subresource="status", **kwargs)

    async def patch(self, rt: Resource, name: str, patch: Any, *, namespace: str | None = None,
                    patch_type: PatchType = "strategic", subresource: str = "", field_manager: str | None = None,
                    force: bool | None = None, dry_run: bool = False) -> Obj:
        """PATCH with one of the four patch types.  ``apply`` needs a field manager."""
        params = self._write_params(field_manager, dry_run)
        if patch_type == "apply":
            params.setdefault("fieldManager", self.field_manager or "pyk8s")
            params["force"] = "true" if force else "false"
        elif force is not None:
            params["force"] = "true" if force else "false"
        path = resource_path(rt, namespace=self._ns(rt, namespace), name=name, subresource=subresource)
        return await self.request("PATCH", path, body=patch, params=params,
                                  content_type=PATCH_CONTENT_TYPES[patch_type])

    async def apply(self, rt: Resource, obj: Obj, *, field_manager: str | None = None, force: bool = False,
                    subresource: str = "") -> Obj:
        """Server-side apply of a (partial) object."""
        return await self.patch(rt, obj["metadata"]["name"], obj, namespace=self._ns(rt, None, obj),
                                patch_type="apply", field_manager=field_manager, force=force,
                                subresource=subresource)

    async def delete(self, rt: Resource, name: str, *, namespace: str | None = None,
                     propagation_policy: str | None = None, grace_period_seconds: int | None = None,
                     preconditions: Mapping[str, str] | None = None, dry_run: bool = False) -> Obj:
        """DELETE with DeleteOptions; returns the object (or a Status for some kinds)."""
        body = delete_options(propagation_policy=propagation_policy, grace_period_seconds=grace_period_seconds,
                              preconditions=preconditions, dry_run=dry_run)
        path = resource_path(rt, namespace=self._ns(rt, namespace), name=name)
        return await self.request("DELETE", path, body=body)

    async def delete_collection(self, rt: Resource, *, namespace: str | None = None,
                                label_selector: str | Mapping[str, str] | None = None,
                                field_selector: str | Mapping[str, str] | None = None,
                                propagation_policy: str | None = None,
                                grace_period_seconds: int | None = None) -> Obj:
        params = _params(labelSelector=_selector(label_selector), fieldSelector=_selector(field_selector))
        body = delete_options(propagation_policy=propagation_policy, grace_period_seconds=grace_period_seconds)
        path = resource_path(rt, namespace=self._ns(rt, namespace))
        return await self.request("DELETE", path, params=params, body=body)

    # --- subresources ---------------------------------------------------------

    async def get_scale(self, rt: Resource, name: str, *, namespace: str | None = None) -> Obj:
        path = resource_path(rt, namespace=self._ns(rt, namespace), name=name, subresource="scale")
        return await self.request("GET", path)

    async def update_scale(self, rt: Resource, name: str, replicas: int, *, namespace: str | None = None) -> Obj:
        """Set ``spec.replicas`` through ``/scale`` with a merge patch (as ``kubectl scale``)."""
        return await self.patch(rt, name, {"spec": {"replicas": replicas}}, namespace=namespace,
                                patch_type="merge", subresource="scale")

    async def bind(self, pod_namespace: str, pod_name: str, node_name: str) -> Obj:
        """POST a core/v1 Binding to ``pods/{name}/binding`` (what the scheduler does)."""
        binding = {"apiVersion": "v1", "kind": "Binding",
                   "metadata": {"name": pod_name, "namespace": pod_namespace},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
        return await self.create(PODS, binding, namespace=pod_namespace, name=pod_name, subresource="binding")

    async def evict(self, pod_namespace: str, pod_name: str, *, delete_opts: Obj | None = None) -> Obj:
        """POST a policy/v1 Eviction (429 when a PodDisruptionBudget forbids it)."""
        eviction: Obj = {"apiVersion": "policy/v1", "kind": "Eviction",
                         "metadata": {"name": pod_name, "namespace": pod_namespace}}
        if delete_opts:
            eviction["deleteOptions"] = delete_opts
        return await self.create(PODS, eviction, namespace=pod_namespace, name=pod_name, subresource="eviction")

    # --- watch -----------------------------------------------------------------

    async def watch(self, rt: Resource, *, namespace: str | None = None, resource_version: str | None = None,
                    label_selector: str | Mapping[str, str] | None = None,
                    field_selector: str | Mapping[str, str] | None = None, allow_bookmarks: bool = False,
                    timeout_seconds: int | None = None) -> AsyncIterator[tuple[str, Obj]]:
        """Yield ``(type, object)`` until the server closes the stream.

        An ``ERROR`` event raises ``ApiError`` with its Status (410 Expired:
        the resourceVersion is too old, list again).  Use it inside
        ``contextlib.aclosing`` (or let it run out) so the connection is freed.
        """
        params = _params(watch=True, resourceVersion=resource_version, labelSelector=_selector(label_selector),
                         fieldSelector=_selector(field_selector), timeoutSeconds=timeout_seconds,
                         allowWatchBookmarks=True if allow_bookmarks else None)
        path = resource_path(rt, namespace=namespace if rt.namespaced else None)
        async with self.session().get(self.config.server + path, params=params,
                                      timeout=aiohttp.ClientTimeout(total=None, sock_connect=10)) as resp:
            if resp.status >= 400:
                raise ApiError.from_response(resp.status, await resp.read())
            async for kind, obj in _ndjson_events(resp.content):
                if kind == "ERROR":
                    raise ApiError(obj, code=int(obj.get("code") or 500))
                yield kind, obj

    def _write_params(self, field_manager: str | None, dry_run: bool) -> dict[str, str]:
        return _params(fieldManager=field_manager or self.field_manager, dryRun="All" if dry_run else None)


def _retry_after(code: int, header: str | None) -> float | None:
    """Seconds to wait before retrying, or None when the reply is final."""
    if header is None or not (code == 429 or code >= 500):
        return None
    try:
        return float(min(max(int(header), 0), 60))
    except ValueError:
        return 1.0


async def _ndjson_events(stream: aiohttp.StreamReader) -> AsyncIterator[tuple[str, Obj]]:
    """Split the body on newlines ourselves: ``readline`` caps line length, objects can be large."""
    buf = b""
    async for chunk in stream.iter_any():
        buf += chunk
        while True:
            idx = buf.find(b"\n")
            if idx < 0:
                break
            line, buf = buf[:idx], buf[idx + 1:]
            if line.strip():
                event = orjson.loads(line)
                yield str(event.get("type", "")), event.get("object") or {}
    if buf.strip():
        event = orjson.loads(buf)
        yield str(event.get("type", "")), event.get("object") or {}


def delete_options(*, propagation_policy: str | None = None, grace_period_seconds: int | None = None,
                   preconditions: Mapping[str, str] | None = None, dry_run: bool = False) -> Obj | None:
    """A DeleteOptions body, or None when every option is default."""
    body: Obj = {}
    if propagation_policy:
        body["propagationPolicy"] = propagation_policy
    if grace_period_seconds is not None:
        body["gracePeriodSeconds"] = grace_period_seconds
    if preconditions:
        body["preconditions"] = dict(preconditions)
    if dry_run:
        body["dryRun"] = ["All"]
    if not body:
        return None
    return {"kind": "DeleteOptions", "apiVersion": "v1", **body}


PODS = DynamicResource("", "v1", "pods", True, "Pod")

