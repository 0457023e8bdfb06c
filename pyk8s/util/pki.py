"""A tiny certificate authority for one cluster, built on ``cryptography``.

The API server needs three things on first start: a CA, a serving
certificate signed by it (with every name clients use to reach the server),
and an admin client certificate (``CN=kubernetes-admin, O=system:masters``;
Kubernetes reads the user from CN and the groups from O).  ``ensure_pki``
creates whatever is missing under one directory and loads what exists, so a
second start reuses the same identity and old kubeconfigs keep working.

Keys are ECDSA P-256: small, fast to generate, and accepted by Go's TLS
stack (kubectl) and Python's ``ssl`` alike.  Private key files are 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 365 * 5


@dataclass(frozen=True, slots=True)
class KeyPair:
    """PEM-encoded certificate and private key, plus where they live on disk."""

    cert_pem: bytes
    key_pem: bytes
    cert_path: Path
    key_path: Path


@dataclass(frozen=True, slots=True)
class ClusterPKI:
    ca: KeyPair
    serving: KeyPair
    admin: KeyPair
    kubelet_client: KeyPair  # what the API server presents to kubelets


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey, days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Back-dated a little so a client clock slightly behind still accepts it.
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _save(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, cert_path: Path, key_path: Path) -> KeyPair:
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = _key_pem(key)
    _write(key_path, key_pem, 0o600)
    _write(cert_path, cert_pem, 0o644)
    return KeyPair(cert_pem, key_pem, cert_path, key_path)


def _load(cert_path: Path, key_path: Path) -> KeyPair | None:
    if not (cert_path.exists() and key_path.exists()):
        return None
    return KeyPair(cert_path.read_bytes(), key_path.read_bytes(), cert_path, key_path)


def create_ca(cert_path: Path, key_path: Path, common_name: str = "pyk8s-ca") -> KeyPair:
    key = _new_key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key, CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _save(cert, key, cert_path, key_path)


def load_or_create_ca(cert_path: Path, key_path: Path, common_name: str = "pyk8s-ca") -> KeyPair:
    """The CA stored at these paths, created on first use."""
    return _load(cert_path, key_path) or create_ca(cert_path, key_path, common_name)


def _ca_objects(ca: KeyPair) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(ca.cert_pem)
    key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{ca.key_path}: expected an EC private key")
    return cert, key


def issue_cert(ca: KeyPair, cert_path: Path, key_path: Path, *, common_name: str,
               organizations: tuple[str, ...] = (), dns_names: tuple[str, ...] = (),
               ip_addresses: tuple[str, ...] = (), server: bool = False) -> KeyPair:
    """A leaf certificate signed by ``ca``: a serving cert when ``server``, else a client cert."""
    ca_cert, ca_key = _ca_objects(ca)
    key = _new_key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(_name(common_name, organizations), ca_cert.subject, key, LEAF_DAYS)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dict.fromkeys(dns_names)]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in dict.fromkeys(ip_addresses)]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return _save(cert, key, cert_path, key_path)


def cert_sans(cert_pem: bytes) -> tuple[set[str], set[str]]:
    """(DNS names, IP addresses) of a certificate."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(ext.get_values_for_type(x509.DNSName)), {str(ip) for ip in ext.get_values_for_type(x509.IPAddress)}


def private_dir(path: Path) -> Path:
    """``mkdir -p`` with mode 0700, and 0700 on a directory that exists: it holds keys or the database."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def _fix_key_modes(directory: Path) -> None:
    """Private keys and tokens written by an older version (or copied in) become 0600."""
    for entry in directory.iterdir():
        if entry.is_file() and entry.suffix in (".key", ".token"):
            os.chmod(entry, 0o600)


def ensure_pki(directory: Path, *, dns_names: tuple[str, ...], ip_addresses: tuple[str, ...]) -> ClusterPKI:
    """Load or create the CA, serving, admin and kubelet-client certificates under ``directory``.

    An existing serving certificate is re-issued (by the same CA) only when it
    lacks one of the requested names, e.g. after a new ``--bind-address``.
    """
    private_dir(directory)
    _fix_key_modes(directory)
    ca = _load(directory / "ca.crt", directory / "ca.key") or create_ca(directory / "ca.crt", directory / "ca.key")
    serving = _load(directory / "apiserver.crt", directory / "apiserver.key")
    if serving is not None:
        have_dns, have_ips = cert_sans(serving.cert_pem)
        wanted_ips = {str(ipaddress.ip_address(ip)) for ip in ip_addresses}
        if not (set(dns_names) <= have_dns and wanted_ips <= have_ips):
            serving = None
    if serving is None:
        serving = issue_cert(ca, directory / "apiserver.crt", directory / "apiserver.key", common_name="kube-apiserver",
                             dns_names=dns_names, ip_addresses=ip_addresses, server=True)
    admin = _load(directory / "admin.crt", directory / "admin.key") or issue_cert(
        ca, directory / "admin.crt", directory / "admin.key", common_name="kubernetes-admin",
        organizations=("system:masters",))
    kubelet_client = _load(directory / "apiserver-kubelet-client.crt", directory / "apiserver-kubelet-client.key") \
        or issue_cert(ca, directory / "apiserver-kubelet-client.crt", directory / "apiserver-kubelet-client.key",
                      common_name="kube-apiserver-kubelet-client", organizations=("system:masters",))
    return ClusterPKI(ca=ca, serving=serving, admin=admin, kubelet_client=kubelet_client)


def ensure_front_proxy(directory: Path) -> tuple[KeyPair, KeyPair]:
    """The front-proxy CA and the client certificate the aggregator presents to extension API servers
    (kubeadm's ``front-proxy-ca.*`` and ``front-proxy-client.*``)."""
    ca = _load(directory / "front-proxy-ca.crt", directory / "front-proxy-ca.key") or create_ca(
        directory / "front-proxy-ca.crt", directory / "front-proxy-ca.key", common_name="front-proxy-ca")
    client = _load(directory / "front-proxy-client.crt", directory / "front-proxy-client.key") or issue_cert(
        ca, directory / "front-proxy-client.crt", directory / "front-proxy-client.key", common_name="front-proxy-client")
    return ca, client


def subject_identity(cert_der: bytes) -> tuple[str, tuple[str, ...]]:
    """(CN, O values) of a DER certificate: the user name and groups Kubernetes derives from it."""
    cert = x509.load_der_x509_certificate(cert_der)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return (str(cns[0].value) if cns else "", tuple(str(o.value) for o in orgs))


# ------------------------------------------------------------ signing requests (the CSR signer)

_KEY_USAGES = {"signing": "digital_signature", "digital signature": "digital_signature",
               "content commitment": "content_commitment", "key encipherment": "key_encipherment",
               "key agreement": "key_agreement", "data encipherment": "data_encipherment",
               "cert sign": "key_cert_sign", "crl sign": "crl_sign", "encipher only": "encipher_only",
               "decipher only": "decipher_only"}
_EXT_KEY_USAGES = {"any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE, "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
                   "client auth": ExtendedKeyUsageOID.CLIENT_AUTH, "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
                   "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
                   "s/mime": ExtendedKeyUsageOID.EMAIL_PROTECTION,
                   "ipsec end system": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
                   "ipsec tunnel": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
                   "ipsec user": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
                   "timestamping": ExtendedKeyUsageOID.TIME_STAMPING, "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
                   "microsoft sgc": x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
                   "netscape sgc": x509.ObjectIdentifier("2.16.840.1.113730.4.1")}
#: How far a signed certificate is back-dated, so a client whose clock is a little behind accepts it.
SIGN_BACKDATE = datetime.timedelta(minutes=5)
#: Shorter lifetimes are "short": their end is not moved back by SIGN_BACKDATE (upstream's signing policy).
SIGN_SHORT = datetime.timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class Signer:
    """A CA certificate and its private key (any key type ``cryptography`` signs with)."""

    cert: x509.Certificate
    key: Any

    @classmethod
    def load(cls, cert_path: os.PathLike[str] | str, key_path: os.PathLike[str] | str) -> Signer:
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(key_path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        return cls(cert, key)

    def sign(self, request_pem: bytes, usages: list[str], duration: datetime.timedelta,
             now: datetime.datetime | None = None) -> bytes:
        """A PEM certificate for the request: its subject, public key and SANs, the usages asked for, valid
        from ``now - SIGN_BACKDATE`` until ``now + duration`` (less SIGN_BACKDATE for lifetimes of
        SIGN_SHORT or more, as upstream), never past the CA's own expiry.  ValueError if the CA expired."""
        req = x509.load_pem_x509_csr(request_pem)
        now = now or datetime.datetime.now(datetime.UTC)
        ca_end = self.cert.not_valid_after_utc
        if now >= ca_end:
            raise ValueError(f"refusing to sign a certificate that expired in the past: NotAfter={ca_end}")
        end = now + duration if duration < SIGN_SHORT else now + duration - SIGN_BACKDATE
        not_after = min(end, ca_end)
        builder = (x509.CertificateBuilder().subject_name(req.subject).issuer_name(self.cert.subject)
                   .public_key(req.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - SIGN_BACKDATE).not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.cert.public_key()), critical=False))  # type: ignore[arg-type]  # any CA key type
        flags = {name: False for name in set(_KEY_USAGES.values())}
        for usage in usages:
            if usage in _KEY_USAGES:
                flags[_KEY_USAGES[usage]] = True
        if not flags["key_agreement"]:  # X.509 allows these two only with keyAgreement
            flags["encipher_only"] = flags["decipher_only"] = False
        if any(flags.values()):
            builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
        ekus = list(dict.fromkeys(_EXT_KEY_USAGES[u] for u in usages if u in _EXT_KEY_USAGES))
        if ekus:
            builder = builder.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
        try:
            sans = req.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            builder = builder.add_extension(sans, critical=False)
        except x509.ExtensionNotFound:
            pass
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM)
