"""The kubelet's serving certificate, signed by the cluster CA through a CSR (upstream's serverTLSBootstrap).

The kubelet asks for its serving certificate as upstream's does: a
CertificateSigningRequest for signer ``kubernetes.io/kubelet-serving`` with
usages ``digital signature``, ``key encipherment``, ``server auth``, subject
``CN=system:node:<name>, O=system:nodes`` and as SANs the node's addresses
as the Node reports them (Hostname / InternalDNS / ExternalDNS as DNS names,
InternalIP / ExternalIP as IPs).  The CSR signing controller signs it with
the cluster CA once approved (pyk8s's approver approves exactly such requests
from the node itself: ``controllers/csrapproving.py``).  The certificate and
its key live in ``<root>/pki/kubelet-server-current.pem``; a kept one that is
still valid for the node's current addresses is reused at start.

The request must come from the node itself (``system:node:<name>``).  A
kubelet run with other credentials (``pyk8s kubelet --kubeconfig`` with the
admin's) first gets that identity: a client certificate from signer
``kubernetes.io/kube-apiserver-client-kubelet`` (``nodeclient``, approved
after a SubjectAccessReview, as a bootstrap token's request is upstream),
kept in ``<root>/pki/kubelet-client-current.pem`` and used only for these
requests.

Until a certificate is issued the kubelet serves a temporary self-signed one
(and says so in its log); the API server, which verifies kubelets against
the cluster CA, refuses it, so the kubelet API waits up to ``FIRST_WAIT``
seconds at start for the issued one.  Rotation: a new key and CSR once 70-90 %
of the certificate's lifetime has passed (upstream's jittered deadline), or
when the node's addresses no longer match the certificate's SANs; the
new certificate is loaded into the serving TLS context, so new connections
get it without a restart.  Failures are retried with back-off (5 s doubling
to 5 min).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import pathlib
import random
import ssl
import time
from typing import Any

from pyk8s.client.errors import ApiError
from pyk8s.client.rest import Client, DynamicResource
from pyk8s.kubelet.certificates import csr, keys
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NODES = DynamicResource("", "v1", "nodes", False, "Node")
SELF_SUBJECT_REVIEWS = DynamicResource("authentication.k8s.io", "v1", "selfsubjectreviews", False,
                                       "SelfSubjectReview")
SERVING_FILE = "kubelet-server-current.pem"
CLIENT_FILE = "kubelet-client-current.pem"
NODES_GROUP = "system:nodes"
DNS_TYPES = ("Hostname", "InternalDNS", "ExternalDNS")
IP_TYPES = ("InternalIP", "ExternalIP")
FIRST_WAIT = 20.0
RETRY_MIN, RETRY_MAX = 5.0, 300.0
ROTATE_AT = (0.7, 0.9)
ADDRESS_CHECK = 300.0
CLIENT_MARGIN = 3600.0  # a kept node client certificate must be valid this much longer


def node_sans(node: Obj) -> tuple[list[str], list[str]]:
    """(DNS names, IPs) the node's serving certificate names: its reported addresses."""
    addresses = (node.get("status") or {}).get("addresses") or []
    dns = sorted({str(a["address"]) for a in addresses if a.get("type") in DNS_TYPES and a.get("address")})
    ips = sorted({str(a["address"]) for a in addresses if a.get("type") in IP_TYPES and a.get("address")})
    return dns, ips


def rotation_deadline(info: Obj, fraction: float) -> float:
    """When a certificate valid from ``not_before`` to ``not_after`` is renewed (epoch seconds)."""
    start, end = float(info["not_before"]), float(info["not_after"])
    return start + (end - start) * fraction


def usable(info: Obj | None, dns: list[str], ips: list[str], now: float) -> bool:
    """A kept certificate serves on: not expired or due for rotation, and for the node's current addresses."""
    if not info or info["dns"] != dns or info["ips"] != ips:
        return False
    return now < rotation_deadline(info, ROTATE_AT[0])


class ServingCertificates:
    def __init__(self, client: Client | None, node_name: str, pki_dir: pathlib.Path, *, clock: Clock = REAL_CLOCK,
                 fallback_addresses: list[str] | None = None, client_factory: Any = Client) -> None:
        self.client, self.node_name, self.pki_dir, self.clock = client, node_name, pki_dir, clock
        self.client_factory = client_factory  # builds the node-identity client from a ClientConfig
        self.fallback_addresses = list(fallback_addresses or [])
        self.current = pki_dir / SERVING_FILE
        self.issued = asyncio.Event()
        self.context: ssl.SSLContext | None = None
        self._deadline = 0.0
        self._sans_served: tuple[list[str], list[str]] | None = None

    @property
    def user(self) -> str:
        return f"system:node:{self.node_name}"

    async def prepare(self, client_ca_pem: bytes) -> ssl.SSLContext:
        """The serving TLS context: the kept certificate when usable, else a temporary self-signed one."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_verify_locations(cadata=client_ca_pem.decode())
        ctx.verify_mode = ssl.CERT_OPTIONAL  # the server answers 401 rather than failing the handshake
        self.context = ctx
        # Kept from an earlier run: only if the cluster's CA issued it (the node may have joined another cluster).
        info = await keys.call("describe", str(self.current), client_ca_pem.decode()) if self.current.exists() else None
        dns, ips = await self._sans()
        if usable(info, dns, ips, time.time()):
            assert info is not None
            ctx.load_cert_chain(str(self.current))
            self._deadline = rotation_deadline(info, random.uniform(*ROTATE_AT))
            self._sans_served = (dns, ips)
            self.issued.set()
            log.info("serving with the kept kubelet serving certificate %s", self.current)
        else:
            temporary = await keys.call("self_signed", str(self.pki_dir), self.node_name, [*dns, *ips])
            ctx.load_cert_chain(temporary)
            log.warning("kubelet API: serving a temporary self-signed certificate until the serving certificate "
                        "requested from the cluster (CSR, signer %s) is issued", csr.KUBELET_SERVING)
        return ctx

    async def run(self) -> None:
        """Request the certificate when there is none, then renew it at each rotation deadline."""
        delay = RETRY_MIN
        while True:
            if self.issued.is_set():
                await self.wait_until_due()
            try:
                await self.rotate()
                delay = RETRY_MIN
            except Exception as exc:  # noqa: BLE001 - the kubelet keeps serving with the certificate it has
                log.warning("kubelet serving certificate: %s; retrying in %.0fs", exc, delay)
                await self.clock.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def wait_until_due(self) -> None:
        """Until the rotation deadline, or until the node's addresses no longer match the certificate's SANs
        (checked every ``ADDRESS_CHECK`` seconds, as upstream's manager compares its template)."""
        while (left := self._deadline - time.time()) > 0:
            await self.clock.sleep(min(left, ADDRESS_CHECK))
            if self._sans_served is None or self.client is None:
                continue
            try:
                current = node_sans(await self.client.get(NODES, self.node_name))
            except ApiError:
                continue  # checked again later; an API hiccup is no reason for a new certificate
            if current != self._sans_served:
                log.info("node %s addresses changed: requesting a new serving certificate", self.node_name)
                return

    async def rotate(self) -> None:
        """A new key and certificate through a CSR, written to disk and loaded for new connections."""
        dns, ips = await self._sans()
        pending_key = self.pki_dir / ".kubelet-server-pending.key"
        request = await keys.call("request", str(pending_key), self.user, [NODES_GROUP], dns, ips)
        client, own = await self._node_client()
        try:
            name, cert = await csr.request_certificate(client, request, csr.KUBELET_SERVING, csr.SERVING_USAGES,
                                                       clock=self.clock)
        finally:
            if own:
                await client.close()
        keys.write_private(self.current, cert + pending_key.read_bytes())
        pending_key.unlink(missing_ok=True)
        info = await keys.call("describe", str(self.current))
        if self.context is not None:
            self.context.load_cert_chain(str(self.current))
        self._deadline = rotation_deadline(info, random.uniform(*ROTATE_AT))
        self._sans_served = (dns, ips)
        self.issued.set()
        log.info("kubelet serving certificate issued by the cluster (CSR %s) for %s, valid until %s", name,
                 ", ".join([*dns, *ips]), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info["not_after"])))

    async def _sans(self) -> tuple[list[str], list[str]]:
        if self.client is not None:
            try:
                return node_sans(await self.client.get(NODES, self.node_name))
            except ApiError as exc:
                log.warning("reading node %s for its addresses: %s", self.node_name, exc)
        ips = sorted(a for a in self.fallback_addresses if keys.is_ip(a))
        return sorted({self.node_name, *(a for a in self.fallback_addresses if not keys.is_ip(a))}), ips

    async def _node_client(self) -> tuple[Client, bool]:
        """A client speaking as ``system:node:<name>``, and whether it is ours to close."""
        assert self.client is not None
        review = await self.client.create(SELF_SUBJECT_REVIEWS, {
            "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        if ((review.get("status") or {}).get("userInfo") or {}).get("username") == self.user:
            return self.client, False
        path = self.pki_dir / CLIENT_FILE
        ca = self.client.config.ca_pem.decode()
        info = await keys.call("describe", str(path), ca) if path.exists() else None  # this cluster's, or a new one
        if not info or info["not_after"] - time.time() < CLIENT_MARGIN:
            await self._bootstrap_client_certificate(path)
        pem = path.read_bytes()
        marker = pem.index(b"-----END CERTIFICATE-----") + len(b"-----END CERTIFICATE-----\n")
        config = dataclasses.replace(self.client.config, cert_pem=pem[:marker], key_pem=pem[marker:], token="")
        return self.client_factory(config, user_agent=self.client.user_agent, max_connections=2), True

    async def _bootstrap_client_certificate(self, path: pathlib.Path) -> None:
        assert self.client is not None
        pending_key = self.pki_dir / ".kubelet-client-pending.key"
        request = await keys.call("request", str(pending_key), self.user, [NODES_GROUP], [], [])
        name, cert = await csr.request_certificate(self.client, request, csr.KUBE_APISERVER_CLIENT_KUBELET,
                                                   csr.CLIENT_USAGES, clock=self.clock)
        keys.write_private(path, cert + pending_key.read_bytes())
        pending_key.unlink(missing_ok=True)
        log.info("node client certificate for %s issued (CSR %s), used to request the serving certificate",
                 self.user, name)


async def wait_issued(certs: ServingCertificates, seconds: float = FIRST_WAIT) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(certs.issued.wait(), seconds)
