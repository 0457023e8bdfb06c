"""Key, request and certificate work for the kubelet, done where ``cryptography`` is already loaded or in a child.

cryptography would stay in the long-lived kubelet's memory (~8 MB) for a
few uses an hour at most, so ``call(op, *args)`` runs the operation in a
short-lived child process (``python -m pyk8s.kubelet.certificates.keys``)
unless the process has cryptography loaded anyway (``pyk8s server`` with its
embedded kubelet).  Operations (each takes and returns plain JSON values):

* ``request KEY_PATH CN ORGS DNS IPS``: a new EC P-256 key written to
  ``KEY_PATH`` (mode 0600) and the PEM certificate request for it;
* ``describe PEM_PATH [CA_PEM]``: ``{"not_before", "not_after", "dns", "ips"}``
  of the first certificate in the file (epoch seconds), or ``None`` without
  one or, given ``CA_PEM``, when that CA did not issue it;
* ``self_signed PKI_DIR NODE ADDRESSES``: the temporary serving certificate
  (a CA of the node's own, as a kubelet without a serving CSR has); returns
  the path of the combined certificate-and-key file.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import pathlib
import sys
from collections.abc import Callable
from typing import Any

TEMPORARY = "kubelet-temporary.pem"


class CertificateError(Exception):
    pass


def request(key_path: str, cn: str, orgs: list[str], dns: list[str], ips: list[str]) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_private(pathlib.Path(key_path), pem)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
                        + [x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def describe(pem_path: str, ca_pem: str = "") -> dict[str, Any] | None:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    try:
        cert = x509.load_pem_x509_certificate(pathlib.Path(pem_path).read_bytes())
    except (OSError, ValueError):
        return None
    if ca_pem:
        try:
            cert.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_pem.encode()))
        except (ValueError, TypeError, InvalidSignature):
            return None
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns, ips = sans.get_values_for_type(x509.DNSName), [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns, ips = [], []
    return {"not_before": cert.not_valid_before_utc.timestamp(), "not_after": cert.not_valid_after_utc.timestamp(),
            "dns": sorted(dns), "ips": sorted(ips)}


def self_signed(pki_dir: str, node: str, addresses: list[str]) -> str:
    from pyk8s.util import pki

    directory = pathlib.Path(pki_dir)
    directory.mkdir(parents=True, exist_ok=True)
    ca = pki.load_or_create_ca(directory / "kubelet-ca.crt", directory / "kubelet-ca.key", f"{node}-ca")
    ips = [a for a in addresses if is_ip(a)]
    dns = [node, *(a for a in addresses if not is_ip(a))]
    pair = pki.issue_cert(ca, directory / "kubelet.crt", directory / "kubelet.key", common_name=node,
                          dns_names=tuple(dict.fromkeys(dns)), ip_addresses=tuple(ips), server=True)
    combined = directory / TEMPORARY
    write_private(combined, pair.cert_path.read_bytes() + pair.key_path.read_bytes())
    return str(combined)


def write_private(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


OPERATIONS: dict[str, Callable[..., Any]] = {"request": request, "describe": describe, "self_signed": self_signed}


async def call(op: str, *args: Any) -> Any:
    """``OPERATIONS[op](*args)``, in-process when cryptography is loaded, else in a child process."""
    if "cryptography" in sys.modules:
        return OPERATIONS[op](*args)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", __name__, op, json.dumps(list(args)),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise CertificateError(f"{op} failed: {err.decode(errors='replace').strip()}")
    return json.loads(out)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in OPERATIONS:
        print(f"usage: python -m {__name__} {{{','.join(OPERATIONS)}}} JSON_ARGS", file=sys.stderr)
        return 2
    print(json.dumps(OPERATIONS[argv[0]](*json.loads(argv[1]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
