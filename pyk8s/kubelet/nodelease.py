"""The node's Lease: the kubelet's heartbeat the node lifecycle controller watches.

Contract (upstream's ``component-helpers/apimachinery/lease`` as the kubelet
runs it):

* the Lease is ``kube-node-lease/<node>``: holderIdentity the node name,
  ``leaseDurationSeconds`` 40, owned by the Node once its uid is known (an
  owner reference is added on a later renewal if the first write lacked it);
* ``NodeLeases.renew(node, uid)`` writes ``spec.renewTime = now``; callers
  renew every ``RENEW_INTERVAL`` (10 s, a quarter of the duration);
* renewals are a PUT of the last Lease written (no GET each time); a 404
  re-creates it, a 409 re-reads it and raises so the caller retries soon;
  the first renewal creates it, or adopts an existing one.

One ``NodeLeases`` serves any number of nodes (the simulated agent's
thousands, the kubelet's one).  ``ensure_namespace`` creates
``kube-node-lease`` when the control plane has not.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api.core_v1.helpers.timestamps import format_micro_time
from pyk8s.client.errors import ApiError
from pyk8s.client.rest import Client
from pyk8s.util.clock import REAL_CLOCK, Clock

Obj = dict[str, Any]

LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40
RENEW_INTERVAL = 10.0

LEASES = Client.resource("coordination.k8s.io", "v1", "leases", namespaced=True)
NAMESPACES = Client.resource("", "v1", "namespaces", namespaced=False)


def owner_reference(node_name: str, node_uid: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}


def lease_object(node_name: str, node_uid: str, renew_time: str) -> Obj:
    meta: Obj = {"name": node_name, "namespace": LEASE_NAMESPACE}
    if node_uid:
        meta["ownerReferences"] = [owner_reference(node_name, node_uid)]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": node_name, "leaseDurationSeconds": LEASE_DURATION_SECONDS,
                     "renewTime": renew_time}}


def renewed(lease: Obj, node_name: str, node_uid: str, renew_time: str) -> Obj:
    """``lease`` with our holder, duration and ``renew_time`` (and the Node as owner when missing)."""
    meta = dict(lease.get("metadata") or {})
    if node_uid and not meta.get("ownerReferences"):
        meta["ownerReferences"] = [owner_reference(node_name, node_uid)]
    spec = {**(lease.get("spec") or {}), "holderIdentity": node_name,
            "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": renew_time}
    return {**lease, "metadata": meta, "spec": spec}


class NodeLeases:
    def __init__(self, client: Client, *, clock: Clock = REAL_CLOCK) -> None:
        self.client = client
        self.clock = clock
        self.leases: dict[str, Obj] = {}  # the last Lease written per node (its resourceVersion)

    async def renew(self, node_name: str, node_uid: str = "") -> Obj:
        """Renew (or create) the node's Lease now; the Lease as stored."""
        now = format_micro_time(self.clock.now())
        cached = self.leases.get(node_name)
        if cached is None:
            return await self._create_or_adopt(node_name, node_uid, now)
        try:
            stored: Obj = await self.client.update(LEASES, renewed(cached, node_name, node_uid, now),
                                                   namespace=LEASE_NAMESPACE)
        except ApiError as exc:
            if exc.code == 404:
                self.leases.pop(node_name, None)
                return await self._create_or_adopt(node_name, node_uid, now)
            if exc.code == 409:
                # Someone else wrote it (or our copy is stale): re-read, renew on the next try.
                self.leases[node_name] = await self.client.get(LEASES, node_name, namespace=LEASE_NAMESPACE)
            raise
        self.leases[node_name] = stored
        return stored

    async def _create_or_adopt(self, node_name: str, node_uid: str, now: str) -> Obj:
        try:
            stored: Obj = await self.client.create(LEASES, lease_object(node_name, node_uid, now),
                                                   namespace=LEASE_NAMESPACE)
        except ApiError as exc:
            if exc.code != 409:
                raise
            self.leases[node_name] = await self.client.get(LEASES, node_name, namespace=LEASE_NAMESPACE)
            return await self.renew(node_name, node_uid)
        self.leases[node_name] = stored
        return stored

    def forget(self, node_name: str) -> None:
        self.leases.pop(node_name, None)


async def ensure_namespace(client: Client) -> None:
    """Create ``kube-node-lease`` if it does not exist (racing creators are fine).  A kubelet with its own
    node credentials may not read namespaces (403): the API server makes this one at start, so go on."""
    try:
        await client.get(NAMESPACES, LEASE_NAMESPACE)
        return
    except ApiError as exc:
        if exc.code == 403:
            return
        if exc.code != 404:
            raise
    try:
        await client.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": LEASE_NAMESPACE}})
    except ApiError as exc:
        if exc.code != 409:
            raise
