"""The ingress controller: Ingresses of class ``pyk8s`` served by an nginx it owns.

At start it makes sure the IngressClass ``pyk8s`` exists (controller
``pyk8s.io/ingress-controller``, marked default with
``ingressclass.kubernetes.io/is-default-class: "true"``; an existing one is
left as the user has it).  An Ingress is ours when its
``spec.ingressClassName`` (or the deprecated ``kubernetes.io/ingress.class``
annotation) names a class whose controller is ours, or when it names none
and one of our classes is the default.

Informers on Ingresses, IngressClasses, Services, EndpointSlices and
Secrets only queue one key; the sync rebuilds the whole model
(``model.build``), renders it (``nginxconf.render``) and, when the text
differs from what nginx runs, has ``nginx.NginxProcess`` check and reload
it.  Bursts of changes collapse into one sync (the queue holds the key once).
At most one reload a second (a burst of changes becomes one reload).
Endpoint changes reload nginx too: ingress-nginx avoids that with Lua in
nginx, which nginx-light lacks; a reload drops no request.  A configuration
nginx refuses is reported and retried with back-off while the old one keeps
serving; an nginx that dies is restarted.

Each of our Ingresses gets ``status.loadBalancer.ingress`` = the addresses
the controller is reached at (``--publish-address``, else the node's
InternalIPs, else the specific bind addresses).  Events: ``Normal Sync
Scheduled for sync`` (as ingress-nginx) when an Ingress is new or changed,
and a Warning when a backend is missing (``ServiceNotFound``...), once per
distinct message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pyk8s.client.errors import ApiError, is_already_exists, is_not_found
from pyk8s.client.rest import REQUEST_ERRORS, Client, DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.informer import SharedInformerFactory
from pyk8s.ingress import model as model_mod
from pyk8s.ingress import publish
from pyk8s.ingress.certs import check_certificate
from pyk8s.ingress.nginxconf import TEMP_DIR, NginxSettings, render
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]

INGRESSES = DynamicResource("networking.k8s.io", "v1", "ingresses", True, "Ingress")
CLASSES = DynamicResource("networking.k8s.io", "v1", "ingressclasses", False, "IngressClass")
SERVICES = DynamicResource("", "v1", "services", True, "Service")
SLICES = DynamicResource("discovery.k8s.io", "v1", "endpointslices", True, "EndpointSlice")
SECRETS = DynamicResource("", "v1", "secrets", True, "Secret")
NODES = DynamicResource("", "v1", "nodes", False, "Node")

CLASS_NAME = "pyk8s"
CONTROLLER_NAME = "pyk8s.io/ingress-controller"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
SYNC_KEY = "sync"
NGINX_CHECK_SECONDS = 1.0
PUBLISH_RETRY_SECONDS = 5.0
MIN_RELOAD_INTERVAL = 1.0


class Nginx(Protocol):
    async def apply(self, conf_text: str, files: dict[str, bytes]) -> None: ...
    def alive(self) -> bool: ...
    async def stop(self, grace: float = 10.0) -> None: ...


@dataclass(frozen=True)
class IngressOptions:
    data_dir: Path
    class_name: str = CLASS_NAME
    http_port: int = 80
    https_port: int = 443
    bind_addresses: tuple[str, ...] = ()
    publish_addresses: tuple[str, ...] = ()
    node_name: str = ""
    worker_processes: str = "auto"
    #: namespace/name of the LoadBalancer Service kept for the controller ("" for none; see ``publish``).
    publish_service: str = f"{publish.NAMESPACE}/{publish.NAME}"

    def nginx_settings(self, user: str, temp_dir: str = TEMP_DIR) -> NginxSettings:
        return NginxSettings(prefix=str(self.data_dir), http_port=self.http_port, https_port=self.https_port,
                             bind_addresses=self.bind_addresses, worker_processes=self.worker_processes, user=user,
                             temp_dir=temp_dir)


def ingress_class_object(name: str = CLASS_NAME) -> Obj:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": name, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "spec": {"controller": CONTROLLER_NAME}}


def our_classes(classes: list[Obj], class_name: str) -> tuple[set[str], bool]:
    """(names of classes we implement, whether one of them is the default)."""
    names, default = {class_name}, False
    for cls in classes:
        if (cls.get("spec") or {}).get("controller") != CONTROLLER_NAME:
            continue
        names.add(cls["metadata"]["name"])
        notes = cls["metadata"].get("annotations") or {}
        default = default or notes.get(DEFAULT_CLASS_ANNOTATION) == "true"
    return names, default


def is_ours(ing: Obj, names: set[str], default: bool) -> bool:
    cls = (ing.get("spec") or {}).get("ingressClassName")
    if cls:
        return cls in names
    legacy = ((ing.get("metadata") or {}).get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION)
    if legacy:
        return legacy in names
    return default


def _ref(ing: Obj) -> Obj:
    meta = ing["metadata"]
    return {"kind": "Ingress", "apiVersion": "networking.k8s.io/v1", "namespace": meta.get("namespace", ""),
            "name": meta["name"], "uid": meta.get("uid", ""), "resourceVersion": meta.get("resourceVersion", "")}


class IngressController:
    def __init__(self, client: Client, options: IngressOptions, nginx: Nginx, *, user: str = "",
                 clock: Clock = REAL_CLOCK) -> None:
        self.client, self.options, self.nginx = client, options, nginx
        self.settings = options.nginx_settings(user, str(getattr(nginx, "temp_dir", TEMP_DIR)))
        self.factory = SharedInformerFactory(client, clock=clock)
        self.ingresses = self.factory.informer(INGRESSES)
        self.classes = self.factory.informer(CLASSES)
        self.services = self.factory.informer(SERVICES)
        self.slices = self.factory.informer(SLICES, indexers={"service": _slice_service})
        self.secrets = self.factory.informer(SECRETS)
        informers = [self.ingresses, self.classes, self.services, self.slices, self.secrets]
        self.controller = Controller("ingress", self.sync, informers=informers, clock=clock, workers=1)
        for inf in informers:
            inf.add_event_handler(on_add=self._poke, on_update=lambda _o, _n: self._poke(),
                                  on_delete=self._poke)
        self.recorder = EventRecorder(client, component="pyk8s-ingress-controller", clock=clock)
        self.ready = asyncio.Event()
        self.applied: str | None = None
        self.clock = clock
        self.last_reload = -MIN_RELOAD_INTERVAL
        self.synced_generations: dict[str, tuple[str, int]] = {}
        self.warned: dict[str, set[tuple[str, str]]] = {}
        self.publish_service = publish.parse(options.publish_service)
        self.instance = options.node_name or socket.gethostname().lower()
        self.published: tuple[bool, list[str]] = (False, [])

    def _poke(self, *_: object) -> None:
        self.controller.queue.add(SYNC_KEY)

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.ensure_class())
                tg.create_task(self.factory.run())
                tg.create_task(self.recorder.run())
                tg.create_task(self.controller.run())
                tg.create_task(self._watch_nginx())
                await self.controller.ready.wait()
                self._poke()
        finally:
            try:
                await self.nginx.stop()
            finally:
                await self._withdraw()

    async def ensure_class(self) -> None:
        """Create our IngressClass unless it exists; retried (the API may not be ready, or not yet let us)."""
        delay = 0.5
        while True:
            try:
                await self.client.create(CLASSES, ingress_class_object(self.options.class_name))
                log.info("ingress: created IngressClass %s", self.options.class_name)
                return
            except REQUEST_ERRORS as exc:
                if isinstance(exc, ApiError) and is_already_exists(exc):
                    return
                log.warning("ingress: cannot create IngressClass %s yet: %s", self.options.class_name, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _watch_nginx(self) -> None:
        while True:
            await asyncio.sleep(NGINX_CHECK_SECONDS)
            if self.applied is not None and not self.nginx.alive():
                log.error("ingress: nginx is not running; starting it again")
                self.applied = None
                self._poke()

    # --- the sync -----------------------------------------------------------------------------

    def ours(self) -> list[Obj]:
        names, default = our_classes(self.classes.lister.list(), self.options.class_name)
        return [ing for ing in self.ingresses.lister.list() if is_ours(ing, names, default)]

    def build(self, ingresses: list[Obj]) -> model_mod.Model:
        return model_mod.build(model_mod.Inputs(
            ingresses=ingresses,
            service=lambda ns, name: self.services.lister.get(name, ns),
            slices=lambda ns, name: self.slices.store.by_index("service", f"{ns}/{name}"),
            secret=lambda ns, name: self.secrets.lister.get(name, ns),
            check_certificate=check_certificate))

    async def sync(self, key: str) -> float | None:
        ingresses = self.ours()
        model = self.build(ingresses)
        conf, files = render(model, self.settings)
        if conf != self.applied:
            wait = self.last_reload + MIN_RELOAD_INTERVAL - self.clock.monotonic()
            if self.applied is not None and wait > 0:
                return wait  # at most one reload a second: a burst of endpoint changes becomes one
            self.last_reload = self.clock.monotonic()
            await self.nginx.apply(conf, files)  # NginxError: retried with back-off, the old config serves
            log.info("ingress: nginx configured (%d ingresses, %d servers, %d upstreams)", len(ingresses),
                     len(model.servers), len(model.upstreams))
            self.applied = conf
        self.ready.set()
        self.record(ingresses, model)
        published = await self.update_statuses(ingresses)
        # No address yet (the node not registered): look again soon rather than leave ADDRESS empty.
        return None if published or not ingresses else PUBLISH_RETRY_SECONDS

    def record(self, ingresses: list[Obj], model: model_mod.Model) -> None:
        by_key = {model_mod.ingress_key(i): i for i in ingresses}
        for key, ing in by_key.items():
            meta = ing["metadata"]
            seen = (str(meta.get("uid", "")), int(meta.get("generation") or 0))
            if self.synced_generations.get(key) != seen:
                self.synced_generations[key] = seen
                self.recorder.event(_ref(ing), "Normal", "Sync", "Scheduled for sync")
        now: dict[str, set[tuple[str, str]]] = {}
        for key, reason, message in model.warnings:
            now.setdefault(key, set()).add((reason, message))
            if (reason, message) not in self.warned.get(key, set()) and key in by_key:
                log.warning("ingress %s: %s", key, message)
                self.recorder.event(_ref(by_key[key]), "Warning", reason, message)
        self.warned = now
        for gone in set(self.synced_generations) - set(by_key):
            del self.synced_generations[gone]

    # --- status -------------------------------------------------------------------------------

    async def own_addresses(self) -> list[str]:
        """Where nginx is reachable: the node's InternalIPs, else the specific bind addresses."""
        if self.options.node_name:
            try:
                node = await self.client.get(NODES, self.options.node_name)
            except ApiError as exc:
                if not is_not_found(exc):
                    raise
            else:
                ips = [a["address"] for a in (node.get("status") or {}).get("addresses") or []
                       if a.get("type") == "InternalIP" and a.get("address")]
                if ips:
                    return ips
        return [a for a in self.options.bind_addresses if a not in ("0.0.0.0", "::")]

    async def publish_addresses(self) -> list[str]:
        """What Ingress statuses show: --publish-address, else the publish Service's LB IPs, else our own."""
        own = await self.own_addresses()
        if self.publish_service is not None:
            try:
                await self._keep_publish_objects(own)
            except ApiError as exc:  # routing and statuses go on; the next sync tries again
                log.warning("ingress: cannot keep the publish Service %s/%s: %s", *self.publish_service, exc)
        if self.options.publish_addresses:
            return list(self.options.publish_addresses)
        if self.publish_service is not None:
            ns, name = self.publish_service
            lb = publish.load_balancer_ips(self.services.lister.get(name, ns))
            if lb:
                return lb
        return own

    async def _keep_publish_objects(self, own: list[str]) -> None:
        assert self.publish_service is not None
        ns, name = self.publish_service
        has_service = self.services.lister.get(name, ns) is not None
        if self.published == (has_service, own):
            return
        o = self.options
        if not has_service:
            await self.client.apply(SERVICES, publish.service(ns, name, o.http_port, o.https_port), force=True)
        if own:
            await self.client.apply(SLICES, publish.endpoint_slice(ns, name, self.instance, own, http_port=o.http_port,
                                                           https_port=o.https_port, node_name=o.node_name),
                                    force=True)
        self.published = (True, own)

    async def _withdraw(self) -> None:
        """Our endpoints leave the publish Service when we stop (best effort: the API may be gone too)."""
        if self.publish_service is None or not self.published[1]:
            return
        ns, name = self.publish_service
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.delete(SLICES, publish.slice_name(name, self.instance),
                                                      namespace=ns), 5)

    async def update_statuses(self, ingresses: list[Obj]) -> bool:
        """Write our address into each Ingress's status; False when there is no address to write."""
        addresses = await self.publish_addresses()
        if not addresses:
            return False
        want = [{"ip": a} for a in addresses]
        for ing in ingresses:
            have = ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            if have == want:
                continue
            meta = ing["metadata"]
            try:
                await self.client.patch(INGRESSES, meta["name"], {"status": {"loadBalancer": {"ingress": want}}},
                                        namespace=meta.get("namespace"), patch_type="merge", subresource="status")
            except ApiError as exc:
                if not is_not_found(exc):
                    raise
        return True


def _slice_service(es: Obj) -> list[str]:
    meta = es.get("metadata") or {}
    name = (meta.get("labels") or {}).get(model_mod.SERVICE_NAME_LABEL)
    return [f"{meta.get('namespace', '')}/{name}"] if name else []
