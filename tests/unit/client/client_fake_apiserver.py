"""A small in-memory Kubernetes-shaped HTTP server for client tests.

It speaks just enough of the API protocol for the client machinery: CRUD with
resourceVersions and 409s, list paging with continue tokens, chunked NDJSON
watches (from a version, with bookmarks, timeoutSeconds), a forced
"compaction" so old versions answer 410, patches, DeleteOptions
preconditions, and the binding/eviction/scale subresources.  Every request is
logged for assertions.  Plain HTTP on 127.0.0.1; stopped by ``stop()``.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import uuid
from typing import Any

import orjson
from aiohttp import web

from pyk8s.machinery.patch.jsonpatch import apply_json_patch
from pyk8s.machinery.patch.mergepatch import apply_merge_patch
from pyk8s.machinery.scheme import SCHEME

Obj = dict[str, Any]


def status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    return web.Response(status=code, body=orjson.dumps(body), content_type="application/json")


def ok(obj: Obj, code: int = 200) -> web.Response:
    return web.Response(status=code, body=orjson.dumps(obj), content_type="application/json")


def _labels_match(obj: Obj, selector: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for term in filter(None, selector.split(",")):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            if labels.get(k) != v:
                return False
        elif labels.get(term) is None:
            return False
    return True


def _fields_match(obj: Obj, selector: str) -> bool:
    for term in filter(None, selector.split(",")):
        path, _, want = term.replace("==", "=").partition("=")
        cur: Any = obj
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if str(cur or "") != want:
            return False
    return True


class FakeApiServer:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}  # (resource, ns, name)
        self.rv = 100
        self.compacted = 0
        self.events: list[tuple[int, str, str, Obj]] = []  # (rv, resource, type, obj)
        self.requests: list[tuple[str, str, dict[str, str], str]] = []
        self.fail_next: list[int] = []  # HTTP codes to answer the next requests with
        self.watch_gone_as_http = False
        self.changed = asyncio.Condition()
        self._closers: list[asyncio.Event] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, unix_socket: str = "") -> FakeApiServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        if unix_socket:
            await web.UnixSite(self._runner, unix_socket).start()
            self.url = "http://localhost"
            return self
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        self.close_watches()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- test controls ------------------------------------------------------------------

    def compact(self) -> None:
        """Forget history: watches from older versions now get 410."""
        self.compacted = self.rv
        self.events.clear()

    def close_watches(self) -> None:
        for ev in self._closers:
            ev.set()

    async def bookmark(self, resource: str) -> None:
        await self._record(resource, "BOOKMARK", {"metadata": {}}, bump=True)

    def count(self, method: str, watch: bool | None = None) -> int:
        return sum(1 for m, _, q, _ in self.requests
                   if m == method and (watch is None or (q.get("watch") == "true") == watch))

    # --- storage ------------------------------------------------------------------------

    async def _record(self, resource: str, kind: str, obj: Obj, *, bump: bool = False) -> None:
        if bump:
            self.rv += 1
            obj = copy.deepcopy(obj)
            obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        self.events.append((self.rv, resource, kind, copy.deepcopy(obj)))
        async with self.changed:
            self.changed.notify_all()

    async def put(self, resource: str, obj: Obj, kind: str) -> Obj:
        self.rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self.rv)
        self.objects[(resource, meta.get("namespace", ""), meta["name"])] = obj
        await self._record(resource, kind, obj)
        return obj

    async def remove(self, resource: str, ns: str, name: str) -> Obj:
        obj = self.objects.pop((resource, ns, name))
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"]["resourceVersion"] = str(self.rv)
        await self._record(resource, "DELETED", obj)
        return obj

    # --- HTTP ---------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self.requests.append((request.method, request.path, query, request.headers.get("Content-Type", "")))
        if self.fail_next:
            code = self.fail_next.pop(0)
            resp = status(code, {410: "Expired", 429: "TooManyRequests", 500: "InternalError"}.get(code, "Unknown"),
                          f"injected {code}")
            if code == 429:
                resp.headers["Retry-After"] = "2"
            return resp
        parts = request.path.strip("/").split("/")
        if parts[0] == "api":
            group_version, tail = parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group_version, tail = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return status(404, "NotFound", "the server could not find the requested resource")
        ns = ""
        if len(tail) >= 3 and tail[0] == "namespaces":
            ns, tail = tail[1], tail[2:]
        plural = tail[0]
        name = tail[1] if len(tail) > 1 else ""
        sub = tail[2] if len(tail) > 2 else ""
        resource = f"{group_version}/{plural}"
        body = orjson.loads(await request.read()) if request.can_read_body else None
        ctx = (resource, group_version, plural, ns, name, sub)
        if request.method == "GET" and not name:
            if query.get("watch") in ("true", "1"):
                return await self.watch(request, resource, ns, query)
            return self.list(ctx, query)
        handler = getattr(self, f"do_{request.method.lower()}")
        return await handler(ctx, query, body, request)

    def list(self, ctx: tuple[str, ...], query: dict[str, str]) -> web.Response:
        resource, gv, plural, ns = ctx[:4]
        items = [o for (r, n, _), o in sorted(self.objects.items())
                 if r == resource and (not ns or n == ns)
                 and _labels_match(o, query.get("labelSelector", ""))
                 and _fields_match(o, query.get("fieldSelector", ""))]
        start, list_rv = 0, self.rv
        if query.get("continue"):
            offset, _, crv = query["continue"].partition(":")
            if int(crv) < self.compacted:
                return status(410, "Expired", "The provided continue parameter is too old")
            start, list_rv = int(offset), int(crv)
        limit = int(query.get("limit") or 0)
        page = items[start:start + limit] if limit else items[start:]
        meta: Obj = {"resourceVersion": str(list_rv)}
        if limit and start + limit < len(items):
            meta["continue"] = f"{start + limit}:{list_rv}"
        group, _, version = gv.rpartition("/")
        rt = SCHEME.get(group, version, plural)
        kind = (rt.kind if rt else plural[:-1].capitalize()) + "List"
        return ok({"kind": kind, "apiVersion": gv, "metadata": meta, "items": page})

    async def watch(self, request: web.Request, resource: str, ns: str, query: dict[str, str]) -> web.StreamResponse:
        rv = int(query.get("resourceVersion") or 0)
        if rv and rv < self.compacted:
            if self.watch_gone_as_http:
                return status(410, "Expired", "too old resource version")
            resp = web.StreamResponse()
            await resp.prepare(request)
            err = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410, "reason": "Expired",
                   "message": f"too old resource version: {rv} ({self.compacted})"}
            await resp.write(orjson.dumps({"type": "ERROR", "object": err}) + b"\n")
            return resp
        resp = web.StreamResponse()
        resp.content_type = "application/json"
        await resp.prepare(request)
        bookmarks = query.get("allowWatchBookmarks") == "true"
        sel = query.get("labelSelector", "")

        def visible(obj: Obj) -> bool:
            return (not ns or obj.get("metadata", {}).get("namespace") == ns) and _labels_match(obj, sel)

        if not rv:
            for (r, _, _), obj in sorted(self.objects.items()):
                if r == resource and visible(obj):
                    await resp.write(orjson.dumps({"type": "ADDED", "object": obj}) + b"\n")
            rv = self.rv
        closer = asyncio.Event()
        self._closers.append(closer)
        deadline = asyncio.get_running_loop().time() + float(query.get("timeoutSeconds") or 3600)
        try:
            while not closer.is_set():
                for erv, r, kind, obj in list(self.events):
                    if erv > rv and r == resource:
                        rv = erv
                        if kind == "BOOKMARK":
                            if bookmarks:
                                await resp.write(orjson.dumps({"type": kind, "object": obj}) + b"\n")
                        elif visible(obj):
                            await resp.write(orjson.dumps({"type": kind, "object": obj}) + b"\n")
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                async with self.changed:
                    waiter = asyncio.ensure_future(self.changed.wait())
                    closing = asyncio.ensure_future(closer.wait())
                    await asyncio.wait({waiter, closing}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                    closing.cancel()
                    waiter.cancel()
                    await asyncio.gather(waiter, closing, return_exceptions=True)
        finally:
            self._closers.remove(closer)
        return resp

    async def do_get(self, ctx: tuple[str, ...], query: dict[str, str], body: Any, request: web.Request) -> web.Response:
        resource, _, plural, ns, name, sub = ctx
        obj = self.objects.get((resource, ns, name))
        if obj is None:
            return status(404, "NotFound", f'{plural} "{name}" not found')
        if sub == "scale":
            return ok({"kind": "Scale", "apiVersion": "autoscaling/v1",
                       "metadata": {"name": name, "namespace": ns},
                       "spec": {"replicas": obj.get("spec", {}).get("replicas", 1)}})
        return ok(obj)

    async def do_post(self, ctx: tuple[str, ...], query: dict[str, str], body: Any, request: web.Request) -> web.Response:
        resource, gv, plural, ns, name, sub = ctx
        if sub == "binding":
            pod = copy.deepcopy(self.objects[(resource, ns, name)])
            pod.setdefault("spec", {})["nodeName"] = body["target"]["name"]
            await self.put(resource, pod, "MODIFIED")
            return ok({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}, 201)
        if sub == "eviction":
            if (resource, ns, name) not in self.objects:
                return status(404, "NotFound", f'pods "{name}" not found')
            await self.remove(resource, ns, name)
            return ok({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 201}, 201)
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if ns:
            meta["namespace"] = ns
        if (resource, ns, meta["name"]) in self.objects:
            return status(409, "AlreadyExists", f'{plural} "{meta["name"]}" already exists')
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if query.get("dryRun") == "All":
            return ok(body, 201)
        return ok(await self.put(resource, body, "ADDED"), 201)

    async def do_put(self, ctx: tuple[str, ...], query: dict[str, str], body: Any, request: web.Request) -> web.Response:
        resource, _, plural, ns, name, sub = ctx
        old = self.objects.get((resource, ns, name))
        if old is None:
            return status(404, "NotFound", f'{plural} "{name}" not found')
        want = body.get("metadata", {}).get("resourceVersion")
        if want and want != old["metadata"]["resourceVersion"]:
            return status(409, "Conflict", f'Operation cannot be fulfilled on {plural} "{name}": '
                          "the object has been modified; please apply your changes to the latest version and try again")
        new = copy.deepcopy(old)
        if sub == "status":
            new["status"] = body.get("status")
        else:
            new = body
            new["metadata"]["uid"] = old["metadata"]["uid"]
            new["metadata"]["namespace"] = old["metadata"].get("namespace", "")
            if not new["metadata"]["namespace"]:
                new["metadata"].pop("namespace")
        return ok(await self.put(resource, new, "MODIFIED"))

    async def do_patch(self, ctx: tuple[str, ...], query: dict[str, str], body: Any, request: web.Request) -> web.Response:
        resource, _, plural, ns, name, sub = ctx
        ctype = request.headers.get("Content-Type", "")
        old = self.objects.get((resource, ns, name))
        if old is None:
            if "apply-patch" in ctype:
                ctx2 = (resource, ctx[1], plural, ns, "", "")
                return await self.do_post(ctx2, query, body, request)
            return status(404, "NotFound", f'{plural} "{name}" not found')
        if sub == "scale":
            new = copy.deepcopy(old)
            new.setdefault("spec", {})["replicas"] = body["spec"]["replicas"]
        elif "json-patch" in ctype:
            new = apply_json_patch(copy.deepcopy(old), body)
        else:
            new = apply_merge_patch(copy.deepcopy(old), body)
        return ok(await self.put(resource, new, "MODIFIED"))

    async def do_delete(self, ctx: tuple[str, ...], query: dict[str, str], body: Any, request: web.Request) -> web.Response:
        resource, gv, plural, ns, name, sub = ctx
        if not name:
            victims = [k for k, o in self.objects.items()
                       if k[0] == resource and (not ns or k[1] == ns) and _labels_match(o, query.get("labelSelector", ""))]
            items = [await self.remove(*k) for k in sorted(victims)]
            return ok({"kind": "List", "apiVersion": gv, "metadata": {}, "items": items})
        old = self.objects.get((resource, ns, name))
        if old is None:
            return status(404, "NotFound", f'{plural} "{name}" not found')
        pre = (body or {}).get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
            return status(409, "Conflict", "Precondition failed: UID in precondition does not match")
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
            return status(409, "Conflict", "Precondition failed: ResourceVersion in precondition does not match")
        return ok(await self.remove(resource, ns, name))


