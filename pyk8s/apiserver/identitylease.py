"""The kube-apiserver identity Lease (upstream's APIServerIdentity, on by default since v1.26).

Each API server keeps a Lease ``kube-system/apiserver-<hash>``: the hash is upstream's, the first
16 bytes of SHA-256 over the length-prefixed host name and ``kube-apiserver``, in lower-case base32
without padding, so a restarted server on the same host takes its own Lease over (with a new
holder identity ``<lease name>_<uuid>``) instead of adding one.  Labels:
``apiserver.kubernetes.io/identity=kube-apiserver`` and ``kubernetes.io/hostname``.  The lease
lasts 3600 s and is renewed every 10 s.  Leases of other API servers expired for longer than
their duration are deleted (upstream's garbage collector, run once a lease duration).

The loop writes through the registry's Lease store, as upstream's post-start hook writes through
its loopback client; until ``kube-system`` exists (the bootstrap makes it) writes fail and are
retried every second.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import logging
import socket
import struct
import uuid
from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WriteOptions
from pyk8s.machinery.errors import StatusError
from pyk8s.util.clock import REAL_CLOCK, Clock

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

log = logging.getLogger(__name__)
Obj = dict[str, Any]

NAMESPACE = "kube-system"
IDENTITY_LABEL = "apiserver.kubernetes.io/identity"
IDENTITY_VALUE = "kube-apiserver"
HOSTNAME_LABEL = "kubernetes.io/hostname"
LEASE_DURATION_SECONDS = 3600
RENEW_INTERVAL = 10.0
RETRY_INTERVAL = 1.0
FIELD_MANAGER = "kube-apiserver"


def lease_name(hostname: str) -> str:
    """``apiserver-`` and upstream's hash of the host name."""
    data = b"".join(struct.pack(">H", len(part)) + part for part in (hostname.encode(), IDENTITY_VALUE.encode()))
    digest = hashlib.sha256(data).digest()[:16]
    return "apiserver-" + base64.b32encode(digest).decode().rstrip("=").lower()


def _micro(dt: datetime.datetime) -> str:
    return dt.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None


class IdentityLease:
    """Keeps this server's identity Lease renewed; ``run()`` until cancelled."""

    def __init__(self, registry: Registry, *, hostname: str | None = None, clock: Clock = REAL_CLOCK,
                 renew_interval: float = RENEW_INTERVAL, gc_interval: float = float(LEASE_DURATION_SECONDS)) -> None:
        self.registry = registry
        self.hostname = hostname or socket.gethostname()
        self.name = lease_name(self.hostname)
        self.holder = f"{self.name}_{uuid.uuid4()}"
        self.clock = clock
        self.renew_interval = renew_interval
        self.gc_interval = gc_interval

    async def run(self) -> None:
        next_gc = self.clock.monotonic()
        while True:
            ok = await self.renew_once()
            if ok and self.clock.monotonic() >= next_gc:
                await self.collect_expired()
                next_gc = self.clock.monotonic() + self.gc_interval
            await self.clock.sleep(self.renew_interval if ok else RETRY_INTERVAL)

    def _store(self) -> Any:
        store = self.registry.store("coordination.k8s.io", "leases")
        if store is None:
            raise RuntimeError("no Lease store")
        return store

    def _spec(self, old: Obj | None) -> Obj:
        now = _micro(self.clock.now())
        spec = dict((old or {}).get("spec") or {})
        if spec.get("holderIdentity") != self.holder:
            spec["acquireTime"] = now  # a new server on this host takes the lease over
        spec.update(holderIdentity=self.holder, leaseDurationSeconds=LEASE_DURATION_SECONDS, renewTime=now)
        return spec

    async def renew_once(self) -> bool:
        """Create or renew the lease; False when it could not be written (retried soon)."""
        store = self._store()
        try:
            try:
                current = await store.get(NAMESPACE, self.name)
            except StatusError as exc:
                if exc.code != 404:
                    raise
                lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                         "metadata": {"name": self.name, "namespace": NAMESPACE,
                                      "labels": {IDENTITY_LABEL: IDENTITY_VALUE, HOSTNAME_LABEL: self.hostname}},
                         "spec": self._spec(None)}
                await store.create(NAMESPACE, lease, WriteOptions(field_manager=FIELD_MANAGER))
                return True
            current["spec"] = self._spec(current)
            labels = current["metadata"].setdefault("labels", {})
            labels.update({IDENTITY_LABEL: IDENTITY_VALUE, HOSTNAME_LABEL: self.hostname})
            await store.update(NAMESPACE, self.name, current, WriteOptions(field_manager=FIELD_MANAGER))
            return True
        except StatusError as exc:
            log.debug("identity lease %s: %s", self.name, exc)
            return False

    async def collect_expired(self) -> list[str]:
        """Delete other API servers' identity leases that expired; the names deleted."""
        store = self._store()
        try:
            found = await store.list(NAMESPACE, ListOptions(label_selector=f"{IDENTITY_LABEL}={IDENTITY_VALUE}"))
        except StatusError:
            return []
        now = self.clock.now()
        gone = []
        for lease in found.get("items") or []:
            name = lease["metadata"]["name"]
            spec = lease.get("spec") or {}
            renewed = _parse(str(spec.get("renewTime") or ""))
            duration = spec.get("leaseDurationSeconds") or LEASE_DURATION_SECONDS
            if name == self.name or renewed is None or renewed + datetime.timedelta(seconds=duration) > now:
                continue
            rv = str(lease["metadata"].get("resourceVersion") or "")
            try:  # the resourceVersion guard: a lease renewed meanwhile stays
                await store.delete(NAMESPACE, name, DeleteOptions(preconditions={"resourceVersion": rv}))
                gone.append(name)
            except StatusError as exc:
                log.debug("identity lease gc %s: %s", name, exc)
        return gone


async def run_identity_lease(registry: Registry) -> None:
    """The loop as a task body (cancelled with the server)."""
    try:
        await IdentityLease(registry).run()
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - the lease is informative; its failure must not stop the server
        log.exception("identity lease loop stopped")
