"""Reading a kubeconfig into what a client needs: URL, TLS, credentials.

Supports the fields pyk8s itself writes and kubectl users commonly have:
``certificate-authority(-data)``, ``insecure-skip-tls-verify``,
``client-certificate(-data)``/``client-key(-data)``, ``token``/``tokenFile``,
``server``, ``current-context`` (or an explicit context) and the context's
``namespace``.  Relative file paths resolve against the kubeconfig's folder.
Exec/auth-provider plugins are not supported.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass
class ClientConfig:
    server: str
    ca_pem: bytes = b""
    cert_pem: bytes = b""
    key_pem: bytes = b""
    token: str = ""
    namespace: str = "default"
    insecure: bool = False
    #: Reach the server over this Unix socket instead of TCP (a co-located
    #: process; plain HTTP, the socket's file mode is the access control).
    unix_socket: str = ""

    def ssl_context(self) -> ssl.SSLContext | None:
        """None for plain http; otherwise verifies the server and presents the client pair."""
        if not self.server.startswith("https") or self.unix_socket:
            return None
        ctx = ssl.create_default_context()
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_pem:
            ctx.load_verify_locations(cadata=self.ca_pem.decode())
        if self.cert_pem and self.key_pem:
            _load_pair(ctx, self.cert_pem, self.key_pem)
        return ctx

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def _load_pair(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    # ssl loads client pairs only from files; they are read at once, so a
    # private temp dir removed right after is enough.
    with tempfile.TemporaryDirectory(prefix="pyk8s-client-") as tmp:
        cert_path, key_path = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        Path(cert_path).write_bytes(cert)
        ctx.load_cert_chain(cert_path, key_path)


def default_path() -> str:
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return env.split(os.pathsep)[0]
    return os.path.join(os.path.expanduser("~"), ".kube", "config")


def load_kubeconfig(path: str | os.PathLike[str] | None = None, *, context: str | None = None) -> ClientConfig:
    path = os.fspath(path) if path is not None else default_path()
    with open(path, encoding="utf-8") as f:
        doc: dict[str, Any] = yaml.safe_load(f) or {}
    return config_from_dict(doc, base=os.path.dirname(os.path.abspath(path)), context=context)


def config_from_dict(doc: dict[str, Any], *, base: str = ".", context: str | None = None) -> ClientConfig:
    ctx_name = context or doc.get("current-context") or ""
    ctx = _named(doc.get("contexts"), ctx_name, "context") if ctx_name else {}
    if ctx_name and not ctx:
        raise ValueError(f'context "{ctx_name}" not found in kubeconfig')
    cluster = _named(doc.get("clusters"), ctx.get("cluster"), "cluster")
    user = _named(doc.get("users"), ctx.get("user"), "user")
    if not cluster.get("server"):
        raise ValueError("kubeconfig has no cluster server")
    token = str(user.get("token") or "")
    if not token and user.get("tokenFile"):
        token = Path(base, user["tokenFile"]).read_text().strip()
    return ClientConfig(
        server=str(cluster["server"]).rstrip("/"),
        ca_pem=_material(cluster, "certificate-authority", base),
        cert_pem=_material(user, "client-certificate", base),
        key_pem=_material(user, "client-key", base),
        token=token,
        namespace=str(ctx.get("namespace") or "default"),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
    )


def _named(entries: list[dict[str, Any]] | None, name: str | None, key: str) -> dict[str, Any]:
    """The entry called ``name``; with no name, the only (first) one."""
    for entry in entries or []:
        if name is None or entry.get("name") == name:
            return entry.get(key) or {}
    return {}


def _material(section: dict[str, Any], key: str, base: str) -> bytes:
    if section.get(f"{key}-data"):
        return base64.b64decode(section[f"{key}-data"])
    if section.get(key):
        return Path(base, section[key]).read_bytes()
    return b""
