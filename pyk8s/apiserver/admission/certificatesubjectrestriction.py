"""CertificateSubjectRestriction: no ``system:masters`` certificate through the client signer.

Upstream's plugin refuses a CertificateSigningRequest for
``kubernetes.io/kube-apiserver-client`` whose subject names the
``system:masters`` organization: such a certificate would be a cluster
administrator's, beyond any RBAC rule, so even an approver must not be able
to mint one through the API.  Creation only (spec never changes afterwards).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509

from pyk8s.api import certificates_v1 as certs
from pyk8s.apiserver.admission.interface import CREATE, Attributes, Plugin

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

MASTERS = "system:masters"


class CertificateSubjectRestriction(Plugin):
    name = "CertificateSubjectRestriction"
    resources = frozenset({(certs.GROUP, "certificatesigningrequests")})

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        spec = attrs.obj.get("spec") or {}
        if attrs.operation != CREATE or attrs.subresource or spec.get("signerName") != certs.KUBE_APISERVER_CLIENT:
            return
        try:
            req = certs.parse_request(certs.decode_bytes(spec.get("request")) or b"")
        except ValueError as exc:
            raise attrs.forbidden(f"failed to parse CSR: {exc}") from None
        orgs = [str(o.value) for o in req.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)]
        if MASTERS in orgs:
            raise attrs.forbidden(f"use of {certs.KUBE_APISERVER_CLIENT} signer with {MASTERS} group is not allowed")


def build(options: object) -> Plugin:
    return CertificateSubjectRestriction()
