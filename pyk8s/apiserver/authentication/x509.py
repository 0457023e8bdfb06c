"""Client certificates: the user is the subject's CN, the groups its O values (upstream's x509 authenticator).

The TLS layer accepts any certificate (see ``apiserver.tls``) so that one
from another CA, expired, or not meant for client auth is a 401 Status here
rather than a TLS alert.  Chain and key-usage checks are cached per
certificate; validity is checked per request.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from pyk8s.apiserver.authentication.user import AuthenticationError, Result, UserInfo
from pyk8s.util.pki import subject_identity

log = logging.getLogger("pyk8s.apiserver.authn")
_CACHE_LIMIT = 1024


def _client_auth_allowed(cert: x509.Certificate) -> bool:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.CLIENT_AUTH in usages or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages


def verify_client_certificate(cert: x509.Certificate, ca: x509.Certificate) -> str:
    """Why ``cert`` may not authenticate against ``ca`` (validity is checked per request), or ""."""
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "x509: certificate signed by unknown authority"
    if not _client_auth_allowed(cert):
        return "x509: certificate specifies an incompatible key usage"
    return ""


@dataclass(frozen=True, slots=True)
class _Identity:
    user: UserInfo | None
    error: str = ""
    not_before: float = 0.0
    not_after: float = 0.0


class CertificateAuthenticator:
    """``client_ca``: PEM of the CA client certificates must chain to; None trusts the TLS layer."""

    def __init__(self, client_ca: bytes | None = None) -> None:
        self.client_ca = x509.load_pem_x509_certificate(client_ca) if client_ca else None
        self._cache: dict[bytes, _Identity] = {}

    def authenticate(self, der: bytes, now: float | None = None) -> Result | None:
        """The certificate's user; raises AuthenticationError for a certificate that may not authenticate."""
        ident = self._cache.get(der)
        if ident is None:
            ident = self._identity(der)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[der] = ident
        if ident.user is None:
            if ident.error:
                raise AuthenticationError(ident.error)
            return None
        t = time.time() if now is None else now
        if not ident.not_before <= t <= ident.not_after:
            log.debug("client certificate %s: certificate has expired or is not yet valid", ident.user.username)
            raise AuthenticationError("x509: certificate has expired or is not yet valid")
        return Result(ident.user)

    def _identity(self, der: bytes) -> _Identity:
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            return _Identity(None, "x509: malformed certificate")
        if self.client_ca is not None:
            reason = verify_client_certificate(cert, self.client_ca)
            if reason:
                log.debug("client certificate %s: %s", cert.subject.rfc4514_string(), reason)
                return _Identity(None, reason)
        cn, orgs = subject_identity(der)
        if not cn:
            # Upstream's CommonNameUserConversion: a certificate without a CN names nobody.
            return _Identity(None, "x509: certificate has no common name")
        return _Identity(UserInfo(cn, tuple(orgs)), "", cert.not_valid_before_utc.timestamp(),
                         cert.not_valid_after_utc.timestamp())
