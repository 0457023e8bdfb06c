"""Registry mirrors, k3s ``registries.yaml`` style, written as containerd hosts.toml files.

Input (YAML or dict)::

    mirrors:
      docker.io:
        endpoint: ["http://127.0.0.1:5000"]
    configs:
      "127.0.0.1:5000":
        tls: {insecure_skip_verify: true}

Output: ``<config_path>/<host>/hosts.toml`` per mirrored registry, which
containerd's CRI plugin reads when ``registry.config_path`` points at
``config_path``.  A plain ``http://`` endpoint needs nothing more; ``--insecure``
(or ``insecure_skip_verify``) adds ``skip_verify`` for HTTPS ones.  The
upstream itself is not listed as ``server`` fallback when a mirror is configured
(so tests can never reach a public registry) unless ``upstream=True`` asks for
it: then the mirrors are tried first and the real registry after them.
"""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Mapping
from typing import Any

import yaml


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def upstream_url(registry: str) -> str:
    return "https://registry-1.docker.io" if registry == "docker.io" else f"https://{registry}"


def hosts_toml(registry: str, endpoints: list[str], *, insecure: bool = False, upstream: bool = False) -> str:
    # "server" is where to go when no host answers: the first mirror again, unless upstream is allowed.
    server = upstream_url(registry) if upstream else endpoints[0]
    lines = [f"server = {_toml_str(server)}", ""]
    for endpoint in endpoints:
        lines.append(f"[host.{_toml_str(endpoint)}]")
        lines.append('  capabilities = ["pull", "resolve"]')
        if insecure:
            lines.append("  skip_verify = true")
        lines.append("")
    return "\n".join(lines)


def write_hosts_dir(
    config_path: pathlib.Path, registries: Mapping[str, Any], *, insecure: bool = False, upstream: bool = False
) -> list[pathlib.Path]:
    """Replaces ``config_path`` with one hosts.toml per mirror in ``registries`` (registries.yaml shape)."""
    shutil.rmtree(config_path, ignore_errors=True)
    config_path.mkdir(parents=True, exist_ok=True)
    configs = registries.get("configs") or {}
    written: list[pathlib.Path] = []
    for host, mirror in (registries.get("mirrors") or {}).items():
        endpoints = list(mirror.get("endpoint") or [])
        if not endpoints:
            continue
        skip = insecure or any(
            ((configs.get(_hostport(e)) or {}).get("tls") or {}).get("insecure_skip_verify") for e in endpoints
        )
        path = config_path / host / "hosts.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(hosts_toml(host, endpoints, insecure=bool(skip), upstream=upstream))
        written.append(path)
    return written


def _hostport(endpoint: str) -> str:
    return endpoint.split("://", 1)[-1].rstrip("/")


def load_registries_yaml(path: pathlib.Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data
