"""Certificate signing requests and CSR objects for tests (and the e2e suite)."""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def request_pem(cn: str, orgs: tuple[str, ...] = (), *, key: ec.EllipticCurvePrivateKey | None = None,
                dns: tuple[str, ...] = (), ips: tuple[str, ...] = (), emails: tuple[str, ...] = ()) -> bytes:
    """A PEM ``CERTIFICATE REQUEST`` for CN/O with optional SANs."""
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs))
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    sans += [x509.RFC822Name(e) for e in emails]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key or new_key(), hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def csr_object(name: str, request: bytes, signer: str, usages: list[str], *,
               expiration_seconds: int | None = None, username: str = "", groups: list[str] | None = None,
               conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"request": base64.b64encode(request).decode(), "signerName": signer, "usages": usages}
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    if username:
        spec["username"] = username
    if groups:
        spec["groups"] = groups
    obj: dict[str, Any] = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                           "metadata": {"name": name}, "spec": spec}
    if conditions:
        obj["status"] = {"conditions": conditions}
    return obj


def approved(reason: str = "Test") -> dict[str, Any]:
    return {"type": "Approved", "status": "True", "reason": reason, "message": "approved by a test"}
