"""The aggregator: routing of aggregated group-versions and the loop that keeps APIServices current.

``route(request)`` answers what the aggregator owns (None lets the server's own router go on):
``/apis/<group>`` of an aggregated group, and everything under
``/apis/<group>/<version>`` of an APIService that names a Service (proxied; 503 ``service unavailable``
while it is not Available, as upstream).  Authentication and authorization have already run (the
server's middlewares), as in kube-apiserver's handler chain.  The server's own ``/apis`` documents
take the aggregated groups in through ``merge_group_list`` and ``merge_aggregated``.

``run()`` every ``interval`` seconds: publishes ``kube-system/extension-apiserver-authentication``,
creates the Local APIServices of every group-version the server serves (and removes those of groups
that went away, CRDs), reads the APIServices from the watch cache into the routing table, and checks
each non-local one's availability, writing its ``Available`` condition when it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web

from pyk8s.api import apiregistration_v1 as apireg
from pyk8s.apiserver.aggregator import availability, discovery, proxy
from pyk8s.apiserver.endpoints.responses import json_response
from pyk8s.apiserver.endpoints.upgradeproxy import is_upgrade
from pyk8s.apiserver.registry import cachedreads
from pyk8s.apiserver.registry.rest import DeleteOptions, WriteOptions
from pyk8s.apiserver.webhooks.client import ca_bundle
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.scheme import Scheme
from pyk8s.util import pki

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

log = logging.getLogger("pyk8s.apiserver.aggregator")
Obj = dict[str, Any]
AUTH_CONFIGMAP = "extension-apiserver-authentication"
MANAGER = "kube-apiserver"


class Aggregator:
    def __init__(self, registry: Registry, scheme: Scheme, pki_dir: Path, client_ca_pem: bytes, *,
                 interval: float = 1.0) -> None:
        self.registry, self.scheme, self.interval = registry, scheme, interval
        self.client_ca_pem = client_ca_pem
        self.front_ca, self.front_client = pki.ensure_front_proxy(pki_dir)
        self.remote: dict[tuple[str, str], Obj] = {}  # non-local APIServices by (group, version)
        self.available: dict[tuple[str, str], bool] = {}
        self.resource_lists: dict[tuple[str, str], Obj | None] = {}
        self._sessions: dict[tuple[bytes | None, bool], aiohttp.ClientSession] = {}

    # ------------------------------------------------------------------ routing

    async def route(self, request: web.Request) -> web.StreamResponse | None:
        segments = request.path.strip("/").split("/")
        if segments[0] != "apis":
            return None
        if len(segments) == 1:
            return None  # the server's own /apis, which merges ours in (merge_group_list, merge_aggregated)
        group = segments[1]
        if len(segments) == 2:
            services = [s for (g, _), s in self.remote.items() if g == group]
            if not services or self.scheme.versions(group) or request.method not in ("GET", "HEAD"):
                return None
            doc = discovery.api_group(group, discovery.groups_of(services)[group])
            return json_response({"kind": "APIGroup", "apiVersion": "v1", **doc})
        svc = self.remote.get((group, segments[2]))
        if svc is None:
            return None
        if not self.available.get((group, segments[2])):
            return proxy.unavailable("service unavailable")
        found = await availability.target_of(self.registry, svc)
        if isinstance(found, availability.Verdict):
            return proxy.unavailable(f"service unavailable: {found.message}")
        spec = svc["spec"]
        ca, insecure = ca_bundle(spec.get("caBundle")), bool(spec.get("insecureSkipTLSVerify"))
        if is_upgrade(request):
            return await proxy.upgrade(request, self._ssl(ca, insecure), found)
        return await proxy.forward(request, self._session(ca, insecure), found)

    def merge_group_list(self, doc: Obj) -> Obj:
        """The legacy ``/apis`` APIGroupList with the aggregated groups added."""
        return discovery.merge_group_list(doc, discovery.groups_of(list(self.remote.values())))

    def merge_aggregated(self, doc: Obj) -> Obj:
        """The aggregated ``/apis`` APIGroupDiscoveryList with the aggregated groups added."""
        by_group = discovery.groups_of(list(self.remote.values()))
        return discovery.merge_aggregated(doc, by_group, self.resource_lists, self.available)

    # ------------------------------------------------------------------ TLS to extension servers

    def _ssl(self, ca: bytes | None, insecure: bool) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif ca:
            ctx = ssl.create_default_context(cadata=ca.decode(errors="replace"))
        ctx.load_cert_chain(str(self.front_client.cert_path), str(self.front_client.key_path))
        return ctx

    def _session(self, ca: bytes | None, insecure: bool) -> aiohttp.ClientSession:
        sess = self._sessions.get((ca, insecure))
        if sess is None or sess.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl(ca, insecure), limit=0)
            sess = aiohttp.ClientSession(connector=connector, auto_decompress=False,
                                         timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
            self._sessions[(ca, insecure)] = sess
        return sess

    async def close(self) -> None:
        for sess in self._sessions.values():
            await sess.close()
        self._sessions.clear()

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.sync()
                except StatusError as exc:  # e.g. kube-system not there yet; the next round retries
                    log.debug("aggregator sync: %s", exc.message)
                except Exception:  # noqa: BLE001 - the loop must outlive one bad round
                    log.exception("aggregator sync failed")
                await asyncio.sleep(self.interval)
        finally:
            await self.close()

    async def sync(self) -> None:
        await self._publish_authentication_configmap()
        store = self.registry.store(apireg.GROUP, "apiservices")
        if store is None:
            return
        await self._sync_local(store)
        current = await cachedreads.items(store)
        self.remote = {(s["spec"]["group"], s["spec"]["version"]): s for s in current
                       if (s.get("spec") or {}).get("service")}
        await asyncio.gather(*(self._check(store, s) for s in current))

    async def _check(self, store: Any, svc: Obj) -> None:
        spec = svc.get("spec") or {}
        key = (spec.get("group", ""), spec.get("version", ""))
        ca, insecure = ca_bundle(spec.get("caBundle")), bool(spec.get("insecureSkipTLSVerify"))
        verdict = availability.LOCAL if not spec.get("service") else \
            await availability.check(self.registry, svc, self._session(ca, insecure))
        self.available[key] = verdict.status == "True"
        if verdict.discovery is not None:
            self.resource_lists[key] = verdict.discovery
        await self._write_condition(store, svc, verdict)

    async def _write_condition(self, store: Any, svc: Obj, verdict: availability.Verdict) -> None:
        conds = [c for c in (svc.get("status") or {}).get("conditions") or [] if c.get("type") == "Available"]
        old = conds[0] if conds else {}
        if (old.get("status"), old.get("reason"), old.get("message")) == \
                (verdict.status, verdict.reason, verdict.message):
            return
        from pyk8s.apiserver.registry.objectmeta import now_rfc3339

        cond = {"type": "Available", "status": verdict.status, "reason": verdict.reason, "message": verdict.message,
                "lastTransitionTime": old.get("lastTransitionTime") if old.get("status") == verdict.status
                else now_rfc3339()}
        body = {**svc, "status": {"conditions": [cond]}}
        body["metadata"] = {k: v for k, v in svc["metadata"].items() if k != "resourceVersion"}
        with contextlib.suppress(StatusError):
            await store.update("", svc["metadata"]["name"], body, WriteOptions(field_manager=MANAGER),
                               subresource="status")

    async def _sync_local(self, store: Any) -> None:
        builtin = {gv for gv in apireg.PRIORITIES}
        wanted = {(g, v) for g in self.scheme.groups() for v in self.scheme.versions(g)
                  if self.scheme.resources(g, v)}
        existing = {s["metadata"]["name"]: s for s in await cachedreads.items(store)}
        for group, version in sorted(wanted):
            name = apireg.apiservice_name(group, version)
            if name in existing:
                continue
            obj = apireg.local_apiservice(group, version, custom=(group, version) not in builtin)
            with contextlib.suppress(StatusError):
                await store.create("", obj, WriteOptions(field_manager=MANAGER))
        wanted_names = {apireg.apiservice_name(g, v) for g, v in wanted}
        for name, svc in existing.items():
            automanaged = ((svc.get("metadata") or {}).get("labels") or {}).get(
                "kube-aggregator.kubernetes.io/automanaged")
            if automanaged == "true" and name not in wanted_names and not (svc.get("spec") or {}).get("service"):
                with contextlib.suppress(StatusError):
                    await store.delete("", name, DeleteOptions())

    async def _publish_authentication_configmap(self) -> None:
        store = self.registry.store("", "configmaps")
        if store is None:
            return
        data = {
            "client-ca-file": self.client_ca_pem.decode(),
            "requestheader-allowed-names": '["front-proxy-client"]',
            "requestheader-client-ca-file": self.front_ca.cert_pem.decode(),
            "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
            "requestheader-group-headers": '["X-Remote-Group"]',
            "requestheader-username-headers": '["X-Remote-User"]',
        }
        current = await cachedreads.get(store, "kube-system", AUTH_CONFIGMAP)
        if current is not None and current.get("data") == data:
            return
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": AUTH_CONFIGMAP, "namespace": "kube-system"}, "data": data}
        if current is None:
            await store.create("kube-system", body, WriteOptions(field_manager=MANAGER))
        else:
            await store.update("kube-system", AUTH_CONFIGMAP, body, WriteOptions(field_manager=MANAGER))
