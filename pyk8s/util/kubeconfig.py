"""Writing kubeconfig files (the format kubectl and client libraries read).

One cluster, one user, one context named ``default`` that is also the
current context.  Credentials are embedded (``*-data`` keys, base64) so the
file works wherever it is copied.  The file holds a private key: it is 0600.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def build_kubeconfig(*, server: str, ca_pem: bytes, user: str = "admin", client_cert_pem: bytes = b"",
                     client_key_pem: bytes = b"", token: str = "", cluster: str = "pyk8s",
                     context: str = "default") -> dict[str, Any]:
    creds: dict[str, Any] = {}
    if client_cert_pem and client_key_pem:
        creds["client-certificate-data"] = _b64(client_cert_pem)
        creds["client-key-data"] = _b64(client_key_pem)
    if token:
        creds["token"] = token
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}],
        "users": [{"name": user, "user": creds}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}],
        "current-context": context,
    }


def write_kubeconfig(path: Path, doc: dict[str, Any]) -> None:
    """Write atomically with mode 0600 (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    os.replace(tmp, path)
