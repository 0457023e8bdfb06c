"""The ``kube-system/kube-dns`` Service and the EndpointSlice that points it at this server.

Upstream runs CoreDNS as pods selected by the ``kube-dns`` Service; here the
DNS server runs in the control plane, so the Service has no selector and
this module writes its endpoints itself, as any selector-less Service's
owner does:

* the Service as kubeadm's addon makes it (the 10th address of the service
  range, ports ``dns`` 53/UDP, ``dns-tcp`` 53/TCP and ``metrics`` 9153/TCP
  when metrics are served, the labels ``k8s-app: kube-dns`` and
  ``kubernetes.io/cluster-service: "true"``, the ``prometheus.io/scrape``
  annotations), but named ``kubernetes.io/name: pyk8s-dns`` (it is not
  CoreDNS);
* one EndpointSlice per server address, ``kube-dns-<address>-<port>``,
  labelled ``endpointslice.kubernetes.io/managed-by: dns.pyk8s.io`` (the
  EndpointSlice controller leaves other managers' slices alone), owned by
  the Service, with one ready endpoint at the address and port this server
  listens on.  The service proxy turns ``10.96.0.10:53`` into it.

Both are written with server-side apply (field manager ``pyk8s-dns``), so
ensuring is idempotent: run at start, on every change to either object, and
every ``resync`` seconds.  A ``kube-dns`` Service that has a selector
belongs to someone else (a real CoreDNS deployment): it is left alone, with
a warning.  An existing Service with another clusterIP keeps it (clusterIP is
immutable).  ``withdraw()`` deletes this server's slice when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import Client, DynamicResource
from pyk8s.dns import names

log = logging.getLogger("pyk8s.dns.kubedns")
Obj = dict[str, Any]
NAMESPACE = "kube-system"
SERVICE = "kube-dns"
MANAGED_BY = "dns.pyk8s.io"
FIELD_MANAGER = "pyk8s-dns"
WITHDRAW_TIMEOUT = 3.0
METRICS_PORT = 9153
SERVICES = DynamicResource("", "v1", "services", True, "Service")
SLICES = DynamicResource("discovery.k8s.io", "v1", "endpointslices", True, "EndpointSlice")
LABELS = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "pyk8s-dns"}


def service_manifest(cluster_ip: str | None, *, metrics: bool = True) -> Obj:
    spec: Obj = {"type": "ClusterIP",
                 "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                           {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}
    meta: Obj = {"name": SERVICE, "namespace": NAMESPACE, "labels": dict(LABELS)}
    if metrics:
        spec["ports"].append({"name": "metrics", "port": METRICS_PORT, "protocol": "TCP", "targetPort": METRICS_PORT})
        meta["annotations"] = {"prometheus.io/port": str(METRICS_PORT), "prometheus.io/scrape": "true"}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def slice_name(address: str, port: int) -> str:
    return f"{SERVICE}-{names.dashed(address)}-{port}"


def slice_manifest(address: str, port: int, service: Obj, metrics_port: int | None = None) -> Obj:
    meta = service["metadata"]
    ports = [{"name": "dns", "port": port, "protocol": "UDP"}, {"name": "dns-tcp", "port": port, "protocol": "TCP"}]
    if metrics_port:
        ports.append({"name": "metrics", "port": metrics_port, "protocol": "TCP"})
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "addressType": "IPv6" if ":" in address else "IPv4",
            "metadata": {"name": slice_name(address, port), "namespace": NAMESPACE,
                         "labels": {**LABELS, "kubernetes.io/service-name": SERVICE,
                                    "endpointslice.kubernetes.io/managed-by": MANAGED_BY},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": SERVICE,
                                              "uid": meta.get("uid", ""), "controller": True,
                                              "blockOwnerDeletion": True}]},
            "endpoints": [{"addresses": [address],
                           "conditions": {"ready": True, "serving": True, "terminating": False}}],
            "ports": ports}


class KubeDNSRegistration:
    def __init__(self, client: Client, *, cluster_ip: str | None, address: str, port: int,
                 metrics_port: int | None = None, resync: float = 30.0) -> None:
        self.client, self.cluster_ip, self.address, self.port = client, cluster_ip, address, port
        self.metrics_port = metrics_port
        self.resync = resync
        self.wake = asyncio.Event()
        self.registered = asyncio.Event()

    def poke(self, *_: object) -> None:
        """Ensure again soon (a deleted Service or slice comes back without waiting for the resync)."""
        self.wake.set()

    def observe(self, obj: Obj, deleted: bool = False) -> None:
        """An informer event: poke when the Service or this server's slice was deleted or changed by hand.

        Our own writes come back as events too; comparing contents keeps them from looping.
        """
        meta = obj.get("metadata") or {}
        if meta.get("namespace") != NAMESPACE:
            return
        if "spec" in obj:  # a Service (slices have no spec)
            labels = meta.get("labels") or {}
            if meta.get("name") == SERVICE and (deleted or any(labels.get(k) != v for k, v in LABELS.items())):
                self.poke()
            return
        if meta.get("name") != slice_name(self.address, self.port):
            return
        want = slice_manifest(self.address, self.port, {"metadata": {}}, self.metrics_port)
        if deleted or obj.get("endpoints") != want["endpoints"] or obj.get("ports") != want["ports"]:
            self.poke()

    async def ensure(self) -> bool:
        """Make the Service and this server's slice what they should be; False when the Service is not ours."""
        try:
            current: Obj | None = await self.client.get(SERVICES, SERVICE, namespace=NAMESPACE)
        except ApiError as exc:
            if not is_not_found(exc):
                raise
            current = None
        cluster_ip = self.cluster_ip
        if current is not None:
            spec = current.get("spec") or {}
            if spec.get("selector"):
                log.warning("%s/%s has a selector: its endpoints belong to someone else, leaving it alone",
                            NAMESPACE, SERVICE)
                return False
            if cluster_ip and spec.get("clusterIP") not in (None, "", cluster_ip):
                log.warning("%s/%s has clusterIP %s, not %s: keeping it (clusterIP is immutable)",
                            NAMESPACE, SERVICE, spec.get("clusterIP"), cluster_ip)
                cluster_ip = None
        service = await self.client.apply(SERVICES, service_manifest(cluster_ip, metrics=bool(self.metrics_port)),
                                          field_manager=FIELD_MANAGER, force=True)
        await self.client.apply(SLICES, slice_manifest(self.address, self.port, service, self.metrics_port),
                                field_manager=FIELD_MANAGER, force=True)
        return True

    async def run(self) -> None:
        delay = 1.0
        while True:
            self.wake.clear()
            try:
                if await self.ensure():
                    if not self.registered.is_set():
                        log.info("%s/%s points at %s:%d", NAMESPACE, SERVICE, self.address, self.port)
                    self.registered.set()
                delay = 1.0
                wait = self.resync
            except (ApiError, OSError) as exc:
                log.warning("cannot register %s/%s: %s; retrying in %.0fs", NAMESPACE, SERVICE, exc, delay)
                wait, delay = delay, min(delay * 2, self.resync)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), wait)

    async def withdraw(self) -> None:
        """Delete this server's slice (shutdown): clients stop being sent to an address nobody answers."""
        with contextlib.suppress(ApiError, OSError, TimeoutError):
            async with asyncio.timeout(WITHDRAW_TIMEOUT):
                await self.client.delete(SLICES, slice_name(self.address, self.port), namespace=NAMESPACE)
