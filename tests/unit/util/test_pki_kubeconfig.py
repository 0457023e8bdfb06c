from __future__ import annotations

import base64

import yaml
from cryptography import x509

from pyk8s.util import kubeconfig, pki


def test_ensure_pki_creates_then_reuses(tmp_path):
    first = pki.ensure_pki(tmp_path, dns_names=("localhost", "kubernetes"), ip_addresses=("127.0.0.1", "10.96.0.1"))
    assert oct(first.ca.key_path.stat().st_mode & 0o777) == "0o600"
    ca = x509.load_pem_x509_certificate(first.ca.cert_pem)
    serving = x509.load_pem_x509_certificate(first.serving.cert_pem)
    assert serving.issuer == ca.subject
    serving.verify_directly_issued_by(ca)
    admin = x509.load_pem_x509_certificate(first.admin.cert_pem)
    admin.verify_directly_issued_by(ca)
    assert pki.subject_identity(admin.public_bytes(pki.serialization.Encoding.DER)) == ("kubernetes-admin", ("system:masters",))
    again = pki.ensure_pki(tmp_path, dns_names=("localhost",), ip_addresses=("127.0.0.1",))
    assert again == first


def test_serving_cert_reissued_for_new_names_by_same_ca(tmp_path):
    first = pki.ensure_pki(tmp_path, dns_names=("localhost",), ip_addresses=("127.0.0.1",))
    second = pki.ensure_pki(tmp_path, dns_names=("localhost", "node1"), ip_addresses=("127.0.0.1",))
    assert second.ca == first.ca and second.serving != first.serving
    assert "node1" in pki.cert_sans(second.serving.cert_pem)[0]


def test_kubeconfig_round_trip(tmp_path):
    doc = kubeconfig.build_kubeconfig(server="https://127.0.0.1:6443", ca_pem=b"CA", client_cert_pem=b"C",
                                      client_key_pem=b"K", token="t")
    path = tmp_path / "admin.kubeconfig"
    kubeconfig.write_kubeconfig(path, doc)
    loaded = yaml.safe_load(path.read_text())
    assert loaded["current-context"] == "default"
    ctx = loaded["contexts"][0]["context"]
    assert ctx["cluster"] == loaded["clusters"][0]["name"] and ctx["user"] == loaded["users"][0]["name"]
    assert base64.b64decode(loaded["clusters"][0]["cluster"]["certificate-authority-data"]) == b"CA"
    assert base64.b64decode(loaded["users"][0]["user"]["client-key-data"]) == b"K"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
