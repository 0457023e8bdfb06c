"""Asking the cluster for a certificate with a CertificateSigningRequest, as the kubelet's cert manager does.

``request_certificate`` creates the CSR (``generateName: csr-``), then reads
it back until the signer put a certificate in ``status.certificate`` or the
request was Denied or Failed (a ``CertificateRequestError`` with the
condition's reason and message).  Polling (every second) rather than a
watch: one request an hour at most, and it keeps no connection open.
"""

from __future__ import annotations

import base64
from typing import Any

from pyk8s.client.rest import Client, DynamicResource
from pyk8s.util.clock import REAL_CLOCK, Clock

CSRS = DynamicResource("certificates.k8s.io", "v1", "certificatesigningrequests", False,
                       "CertificateSigningRequest")
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING_USAGES = ["digital signature", "key encipherment", "server auth"]
CLIENT_USAGES = ["digital signature", "key encipherment", "client auth"]
POLL = 1.0


class CertificateRequestError(Exception):
    pass


def csr_object(request_pem: str, signer: str, usages: list[str], expiration_seconds: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"request": base64.b64encode(request_pem.encode()).decode(), "signerName": signer,
                            "usages": list(usages)}
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"generateName": "csr-"}, "spec": spec}


def outcome(csr: dict[str, Any]) -> bytes | None:
    """The issued PEM certificate, None while pending; CertificateRequestError when denied or failed."""
    status = csr.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Denied", "Failed") and cond.get("status", "True") == "True":
            name = (csr.get("metadata") or {}).get("name", "")
            raise CertificateRequestError(f"certificate signing request {name} is {cond['type'].lower()}, "
                                          f"reason: {cond.get('reason', '')}, message: {cond.get('message', '')}")
    if status.get("certificate"):
        return base64.b64decode(status["certificate"])
    return None


async def request_certificate(client: Client, request_pem: str, signer: str, usages: list[str], *,
                              expiration_seconds: int | None = None, give_up_after: float = 3600.0,
                              clock: Clock = REAL_CLOCK) -> tuple[str, bytes]:
    """(CSR name, PEM certificate) once issued."""
    created = await client.create(CSRS, csr_object(request_pem, signer, usages, expiration_seconds))
    name = created["metadata"]["name"]
    waited = 0.0
    csr = created
    while True:
        cert = outcome(csr)
        if cert is not None:
            return name, cert
        if waited >= give_up_after:
            raise CertificateRequestError(f"certificate signing request {name} not issued after {give_up_after:.0f}s")
        await clock.sleep(POLL)
        waited += POLL
        csr = await client.get(CSRS, name)
