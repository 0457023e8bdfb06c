"""A stand-in for ``pyk8s server`` used to test ServerProcess itself.

It writes a fresh self-signed CA/server certificate and an admin kubeconfig
(token auth) to ``--data-dir`` on every start, then answers every GET with 200
when the bearer token matches and 401 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import http.server
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TOKEN = "secret"


def make_cert(data_dir: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-apiserver")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    with open(os.path.join(data_dir, "serving.crt"), "wb") as f:
        f.write(pem)
    with open(os.path.join(data_dir, "serving.key"), "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return pem


def kubeconfig(port: int, ca: bytes) -> str:
    return f"""apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: fake
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority-data: {base64.b64encode(ca).decode()}
users:
- name: admin
  user:
    token: {TOKEN}
contexts:
- name: admin
  context: {{cluster: fake, user: admin}}
"""


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
        self.send_response(200 if ok else 401)
        self.end_headers()
        self.wfile.write(b"ok")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--secure-port", type=int, required=True)
    parser.add_argument("--bind-address", default="127.0.0.1")
    parser.add_argument("--disable-admission-plugins", default="")  # ServerProcess passes it to bare servers
    args = parser.parse_args()
    ca = make_cert(args.data_dir)
    server = http.server.HTTPServer((args.bind_address, args.secure_port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.data_dir, "serving.crt"), os.path.join(args.data_dir, "serving.key"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(args.data_dir, "admin.kubeconfig"), "w", encoding="utf-8") as f:
        f.write(kubeconfig(args.secure_port, ca))
    server.serve_forever()


if __name__ == "__main__":
    main()
