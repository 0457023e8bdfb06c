"""Objects every cluster has, created at API server start (idempotently).

The four system namespaces, the built-in PriorityClasses (system-node-critical,
system-cluster-critical), the default StorageClass ``local-path`` (as k3s
ships it; a cluster that deleted it gets it back on restart, as k3s does), and the ``kubernetes`` Service in ``default``
(ClusterIP = first address of the service CIDR, port 443 -> the API server's
port) with its Endpoints and EndpointSlice pointing at the API server.  An
existing object is left alone unless its endpoints are stale, which are
rewritten (the advertised address may change across restarts).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from pyk8s.api.flowcontrol_v1_defaults import default_objects as apf_defaults
from pyk8s.api.scheduling_v1 import system_priority_classes
from pyk8s.api.storage_v1 import local_path_class
from pyk8s.apiserver.authorization.reconcile import ensure_policy
from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.errors import StatusError

log = logging.getLogger(__name__)
Obj = dict[str, Any]
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
SERVICE_LABELS = {"component": "apiserver", "provider": "kubernetes"}
MANAGER = "kube-apiserver"


async def _ensure(registry: Registry, group: str, plural: str, namespace: str, obj: Obj,
                  *, refresh: bool = False) -> None:
    store = registry.store(group, plural)
    if store is None:
        return
    name = obj["metadata"]["name"]
    try:
        current = await store.get(namespace, name)
    except StatusError as exc:
        if exc.code != 404:
            raise
        try:
            await store.create(namespace, obj, WriteOptions(field_manager=MANAGER))
        except StatusError as err:
            if err.reason != "AlreadyExists":
                raise
        return
    if refresh:
        def mutate(cur: Obj) -> Obj | None:
            changed = False
            for k, v in obj.items():
                if k not in ("metadata", "kind", "apiVersion") and cur.get(k) != v:
                    cur[k] = v
                    changed = True
            return cur if changed else None
        del current
        await store.raw_update(namespace, name, mutate)


async def bootstrap(registry: Registry, *, api_address: str, api_port: int) -> None:
    for ns in SYSTEM_NAMESPACES:
        await _ensure(registry, "", "namespaces", "", {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": ns}})
    for pc in system_priority_classes():
        await _ensure(registry, "scheduling.k8s.io", "priorityclasses", "", pc)
    await _ensure(registry, "storage.k8s.io", "storageclasses", "", local_path_class())
    for plural, apf in apf_defaults():  # upstream's APF defaults, stored (not enforced: flowcontrol_v1.py)
        await _ensure(registry, "flowcontrol.apiserver.k8s.io", plural, "", apf)
    cluster_ip = str(ipaddress.ip_network(registry.service_cidr, strict=False).network_address + 1)
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "kubernetes", "namespace": "default", "labels": dict(SERVICE_LABELS)},
           "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "sessionAffinity": "None",
                    "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": api_port}]}}
    await _ensure(registry, "", "services", "default", svc)
    address = api_address or "127.0.0.1"
    endpoints = {"apiVersion": "v1", "kind": "Endpoints",
                 "metadata": {"name": "kubernetes", "namespace": "default",
                              "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                 "subsets": [{"addresses": [{"ip": address}],
                              "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}]}]}
    await _ensure(registry, "", "endpoints", "default", endpoints, refresh=True)
    family = "IPv6" if ":" in address else "IPv4"
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": "kubernetes", "namespace": "default",
                           "labels": {"kubernetes.io/service-name": "kubernetes",
                                      "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
              "addressType": family,
              "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
              "ports": [{"name": "https", "port": api_port, "protocol": "TCP"}]}
    await _ensure(registry, "discovery.k8s.io", "endpointslices", "default", slice_, refresh=True)
    await ensure_policy(registry)  # the default RBAC roles and bindings (authorization/bootstrappolicy.py)
    log.info("bootstrap objects in place (kubernetes service %s -> %s:%s)", cluster_ip, address, api_port)
