"""Checking a kubernetes.io/tls Secret's certificate and key before nginx sees them.

nginx refuses a whole configuration over one unreadable certificate, so
each Secret is checked on its own first: PEM that parses, and a key that
belongs to the (first) certificate.  The answer is "" or the problem in words.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization


def check_certificate(cert_pem: bytes, key_pem: bytes) -> str:
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        return "tls.crt is not a PEM certificate"
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return "tls.key is not an unencrypted PEM private key"
    ours = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    theirs = certs[0].public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return "" if ours == theirs else "tls.key does not match the certificate in tls.crt"
