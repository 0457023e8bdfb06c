"""Kubeconfig loading and the TLS context it builds."""

from __future__ import annotations

import base64
import datetime
import ssl
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pyk8s.client.kubeconfig import config_from_dict, load_kubeconfig


def _pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True).sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def _doc(**user: str) -> dict:
    return {
        "clusters": [{"name": "c1", "cluster": {"server": "https://127.0.0.1:6443/"}},
                     {"name": "c2", "cluster": {"server": "https://10.0.0.1", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u1", "user": user}, {"name": "u2", "user": {"token": "t2"}}],
        "contexts": [{"name": "one", "context": {"cluster": "c1", "user": "u1", "namespace": "team"}},
                     {"name": "two", "context": {"cluster": "c2", "user": "u2"}}],
        "current-context": "one",
    }


def test_data_fields_and_ssl(tmp_path: Path) -> None:
    cert, key = _pair()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    doc = _doc(**{"client-certificate-data": b64(cert), "client-key-data": b64(key)})
    doc["clusters"][0]["cluster"]["certificate-authority-data"] = b64(cert)
    cfg = config_from_dict(doc)
    assert cfg.server == "https://127.0.0.1:6443" and cfg.namespace == "team"
    assert cfg.ca_pem == cert and cfg.cert_pem == cert and cfg.key_pem == key
    ctx = cfg.ssl_context()
    assert isinstance(ctx, ssl.SSLContext) and ctx.verify_mode == ssl.CERT_REQUIRED
    assert cfg.headers() == {}


def test_files_context_and_token(tmp_path: Path) -> None:
    cert, key = _pair()
    (tmp_path / "ca.crt").write_bytes(cert)
    (tmp_path / "tok").write_text("filetoken\n")
    doc = _doc(tokenFile="tok")
    doc["clusters"][0]["cluster"]["certificate-authority"] = "ca.crt"
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(doc))
    cfg = load_kubeconfig(path)
    assert cfg.ca_pem == cert and cfg.token == "filetoken"
    assert cfg.headers() == {"Authorization": "Bearer filetoken"}
    other = load_kubeconfig(path, context="two")
    assert other.server == "https://10.0.0.1" and other.token == "t2" and other.namespace == "default"
    ctx = other.ssl_context()
    assert ctx is not None and ctx.verify_mode == ssl.CERT_NONE
    with pytest.raises(ValueError):
        load_kubeconfig(path, context="missing")


def test_env_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "kc"
    path.write_text(yaml.safe_dump(_doc(token="x")))
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert load_kubeconfig().token == "x"
    assert config_from_dict({"clusters": [{"name": "a", "cluster": {"server": "http://h:1"}}]}).ssl_context() is None
