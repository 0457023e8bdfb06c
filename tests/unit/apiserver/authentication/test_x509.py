from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyk8s.apiserver.authentication.user import AuthenticationError
from pyk8s.apiserver.authentication.x509 import CertificateAuthenticator

NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)


def _name(cn: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str = "ca") -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - datetime.timedelta(days=10))
            .not_valid_after(NOW + datetime.timedelta(days=10))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return cert, key


def _leaf(ca: tuple, cn: str, orgs: tuple[str, ...] = (), *, days: int = 5, usage=ExtendedKeyUsageOID.CLIENT_AUTH) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn, orgs)).issuer_name(ca[0].subject)
            .public_key(key.public_key()).serial_number(2).not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=days))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False).sign(ca[1], hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def ca():
    return _ca()


def test_cn_is_the_user_and_o_the_groups(ca):
    auth = CertificateAuthenticator(ca[0].public_bytes(serialization.Encoding.PEM))
    result = auth.authenticate(_leaf(ca, "jane", ("dev", "ops")), now=NOW.timestamp())
    assert result is not None and result.user.username == "jane" and result.user.groups == ("dev", "ops")


def test_other_ca_expired_and_server_only_certificates_are_refused(ca):
    auth = CertificateAuthenticator(ca[0].public_bytes(serialization.Encoding.PEM))
    with pytest.raises(AuthenticationError, match="unknown authority"):
        auth.authenticate(_leaf(_ca("other"), "jane"), now=NOW.timestamp())
    with pytest.raises(AuthenticationError, match="expired"):
        auth.authenticate(_leaf(ca, "jane", days=1), now=(NOW + datetime.timedelta(days=2)).timestamp())
    with pytest.raises(AuthenticationError, match="incompatible key usage"):
        auth.authenticate(_leaf(ca, "jane", usage=ExtendedKeyUsageOID.SERVER_AUTH), now=NOW.timestamp())
