"""CSR signing: approved CertificateSigningRequests for the built-in signers get a certificate.

Upstream's ``csrsigning`` controller runs one signer per built-in signer name,
all with the cluster CA (``--cluster-signing-cert-file`` / ``-key-file``):

* ``kubernetes.io/kube-apiserver-client``: any subject; usages limited to
  ``client auth`` (required), ``digital signature`` and ``key encipherment``;
* ``kubernetes.io/kube-apiserver-client-kubelet``: a kubelet's client
  certificate (``CN=system:node:<name>``, ``O=system:nodes``, no SANs);
* ``kubernetes.io/kubelet-serving``: a kubelet's serving certificate (the
  same subject, DNS or IP SANs required, ``server auth``).

``kubernetes.io/legacy-unknown`` and every other signer name are left alone.
A request the signer refuses gets a ``Failed`` condition (reason
``SignerValidationFailure``) and no certificate; the decision is final.  The
certificate lives ``spec.expirationSeconds`` when that is shorter than
``--cluster-signing-duration`` (one year by default) and at least ten minutes.

Level-triggered on CSR names: ``sync`` re-reads the CSR from the informer, so
a request already issued, failed or not approved is a no-op.  With no
signing key configured the controller logs it once and idles, as upstream
skips the controller.
"""

from __future__ import annotations

import base64
import datetime
import logging
from typing import Any

from pyk8s.api import certificates_v1 as certs
from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.controllers.manager import ControllerContext
from pyk8s.util import pki

log = logging.getLogger(__name__)

Obj = dict[str, Any]
CSRS = DynamicResource(certs.GROUP, "v1", "certificatesigningrequests", False, "CertificateSigningRequest")
DEFAULT_DURATION = 365 * 24 * 3600.0
MIN_DURATION = 600.0
SIGNERS = (certs.KUBE_APISERVER_CLIENT, certs.KUBE_APISERVER_CLIENT_KUBELET, certs.KUBELET_SERVING)


def signer_error(signer: str, req: Any, usages: list[str]) -> str:
    """Why ``signer`` refuses this request ('' when it signs it)."""
    if signer == certs.KUBE_APISERVER_CLIENT:
        return certs.apiserver_client_error(usages)
    if signer == certs.KUBE_APISERVER_CLIENT_KUBELET:
        return certs.kubelet_client_error(req, usages)
    return certs.kubelet_serving_error(req, usages)


def duration(expiration_seconds: Any, max_seconds: float) -> datetime.timedelta:
    """The certificate's lifetime: the requested one, capped by the signer's and never under ten minutes."""
    if not isinstance(expiration_seconds, int) or isinstance(expiration_seconds, bool):
        return datetime.timedelta(seconds=max_seconds)
    return datetime.timedelta(seconds=min(max(float(expiration_seconds), MIN_DURATION), max_seconds))


def wants_signing(csr: Obj) -> bool:
    """Approved, not denied or failed, not issued yet, and for one of our signers."""
    status = csr.get("status") or {}
    return (certs.is_approved(csr) and not certs.is_denied_or_failed(csr) and not status.get("certificate")
            and (csr.get("spec") or {}).get("signerName") in SIGNERS)


def failed_condition(message: str, now: str) -> Obj:
    return {"type": certs.FAILED, "status": "True", "reason": "SignerValidationFailure", "message": message,
            "lastUpdateTime": now}


def plan(csr: Obj, signer: pki.Signer, max_seconds: float, now: datetime.datetime) -> Obj | None:
    """The CSR's new status (certificate or Failed condition), or None when there is nothing to do."""
    if not wants_signing(csr):
        return None
    spec = csr.get("spec") or {}
    raw = certs.decode_bytes(spec.get("request")) or b""
    req = certs.parse_request(raw)  # validated on create; a failure here is an error to retry
    usages = [str(u) for u in spec.get("usages") or []]
    status = dict(csr.get("status") or {})
    refusal = signer_error(spec["signerName"], req, usages)
    if refusal:
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        status["conditions"] = [*(status.get("conditions") or []), failed_condition(refusal, stamp)]
    else:
        cert = signer.sign(raw, usages, duration(spec.get("expirationSeconds"), max_seconds), now)
        status["certificate"] = base64.b64encode(cert).decode()
    return status


class CSRSigningController:
    def __init__(self, ctx: ControllerContext, signer: pki.Signer | None, max_seconds: float) -> None:
        self.client = ctx.client
        self.signer = signer
        self.max_seconds = max_seconds
        self.csrs = ctx.factory.informer(CSRS)
        self.controller = Controller("csrsigning", self.sync, informers=[self.csrs], clock=ctx.clock,
                                     workers=int(ctx.option("csrsigning_workers", 1)))
        self.ready = self.controller.ready
        self.csrs.add_event_handler(on_add=self.controller.enqueue,
                                    on_update=lambda old, new: self.controller.enqueue(new))

    async def run(self) -> None:
        await self.controller.run()

    async def sync(self, key: str) -> None:
        csr = self.csrs.lister.get(key)
        if csr is None or self.signer is None:
            return
        status = plan(csr, self.signer, self.max_seconds, datetime.datetime.now(datetime.UTC))
        if status is None:
            return
        try:
            await self.client.update_status(CSRS, {**csr, "status": status})
        except ApiError as exc:
            if not is_not_found(exc):
                raise


def load_signer(ctx: ControllerContext) -> pki.Signer | None:
    cert_file = ctx.option("cluster_signing_cert_file", "")
    key_file = ctx.option("cluster_signing_key_file", "")
    if not cert_file or not key_file:
        log.info("skipping CSR signing: no --cluster-signing-cert-file/--cluster-signing-key-file given")
        return None
    return pki.Signer.load(cert_file, key_file)


def new(ctx: ControllerContext) -> CSRSigningController:
    max_seconds = float(ctx.option("cluster_signing_duration", DEFAULT_DURATION))
    return CSRSigningController(ctx, load_signer(ctx), max_seconds)
