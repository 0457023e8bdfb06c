"""Who a client's credentials say it is, for the server's log: each in-process component logs the
user and groups it runs as when it makes its client (``identity: <component> user=<user> groups=<g,...>``),
so an operator (and the identity e2e test) can see that none runs as ``system:masters``.

Read from the credentials themselves: a client certificate's CommonName and Organizations, a
ServiceAccount token's ``sub`` (with the groups the API server gives ServiceAccounts).  Nothing is
verified here; the API server does that.
"""

from __future__ import annotations

import base64
import binascii
import logging

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from pyk8s.client.kubeconfig import ClientConfig
from pyk8s.util import pki

log = logging.getLogger("pyk8s.identity")
SA_PREFIX = "system:serviceaccount:"


def _certificate(pem: bytes) -> tuple[str, tuple[str, ...]]:
    return pki.subject_identity(x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER))


def _token(token: str) -> tuple[str, tuple[str, ...]]:
    parts = token.split(".")
    if len(parts) != 3:
        return "<static token>", ()
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return "<unreadable token>", ()
    sub = str(claims.get("sub") or "") if isinstance(claims, dict) else ""
    if sub.startswith(SA_PREFIX):
        namespace = sub[len(SA_PREFIX):].split(":", 1)[0]
        return sub, ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")
    return sub or "<token>", ()


def of(config: ClientConfig) -> tuple[str, tuple[str, ...]]:
    """(user, groups) the credentials of ``config`` name (the certificate first, as the server reads them)."""
    if config.cert_pem:
        return _certificate(config.cert_pem)
    if config.token:
        return _token(config.token)
    return "<anonymous>", ()


def log_identity(component: str, config: ClientConfig) -> None:
    user, groups = of(config)
    log.info("identity: %s user=%s groups=%s", component, user, ",".join(groups))
