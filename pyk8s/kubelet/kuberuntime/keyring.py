"""imagePullSecrets -> registry credentials (upstream's credentialprovider keyring).

Secrets of type ``kubernetes.io/dockerconfigjson`` (``.dockerconfigjson``,
``{"auths": {...}}``) and ``kubernetes.io/dockercfg`` (``.dockercfg``, the
bare map) hold entries keyed by a registry URL (``https://index.docker.io/v1/``,
``127.0.0.1:5000``, ``registry.example/team``).  An entry matches an image
when the host (docker.io aliases folded together) is the same and the key's
path, if any, prefixes the repository path; longer keys are tried first.
An entry's ``auth`` (base64 ``user:password``) fills in username/password.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from pyk8s.kubelet.kuberuntime import imageref
from pyk8s.kubelet.runtime import interface as ri

Obj = dict[str, Any]
_HUB_ALIASES = {"index.docker.io", "registry-1.docker.io", "docker.io", "registry.hub.docker.com"}


@dataclass(frozen=True)
class _Entry:
    host: str
    path: str
    auth: ri.AuthConfig


def _normalise_host(host: str) -> str:
    return imageref.DOCKER_HUB if host in _HUB_ALIASES else host


def _split_key(key: str) -> tuple[str, str]:
    rest = key.split("://", 1)[-1]
    host, _, path = rest.partition("/")
    if host in _HUB_ALIASES or path.strip("/") in ("v1", "v2"):
        path = ""  # .../v1/ and .../v2/ name the whole registry, as docker's client reads them
    return _normalise_host(host), path.strip("/")


def _auth_config(value: Obj) -> ri.AuthConfig:
    # No server_address, as upstream's keyring: containerd would then withhold the credentials from a
    # mirror (it compares that address with the host it pulls from).
    cfg = ri.AuthConfig(username=str(value.get("username") or ""), password=str(value.get("password") or ""),
                        identity_token=str(value.get("identitytoken") or ""))
    if value.get("auth"):
        try:
            user, _, password = base64.b64decode(value["auth"]).decode().partition(":")
            cfg.username, cfg.password = user, password
        except (binascii.Error, UnicodeDecodeError):
            pass
    return cfg


def _entries_of(secret: Obj) -> list[_Entry]:
    data = secret.get("data") or {}
    raw, nested = (data.get(".dockerconfigjson"), True) if data.get(".dockerconfigjson") else (data.get(".dockercfg"), False)
    if not raw:
        return []
    try:
        parsed = json.loads(base64.b64decode(raw))
    except (ValueError, binascii.Error):
        return []
    auths = parsed.get("auths", {}) if nested else parsed
    if not isinstance(auths, dict):
        return []
    out = []
    for key, value in auths.items():
        if isinstance(value, dict):
            host, path = _split_key(key)
            out.append(_Entry(host, path, _auth_config(value)))
    return out


class Keyring:
    def __init__(self, secrets: list[Obj]) -> None:
        entries = [e for s in secrets for e in _entries_of(s)]
        self._entries = sorted(entries, key=lambda e: len(e.host) + len(e.path), reverse=True)

    def lookup(self, image: str) -> list[ri.AuthConfig]:
        ref = imageref.parse(image)
        host = _normalise_host(ref.domain)
        return [e.auth for e in self._entries
                if e.host == host and (not e.path or ref.path == e.path or ref.path.startswith(e.path + "/"))]
