"""Chain names for Services and endpoints, shaped as upstream's (hash of the port's name, plus readable text).

iptables: ``KUBE-SVC-`` + the first 16 characters of base32(sha256(name +
protocol)) (chain names are capped near 28 characters).  nftables allows 256,
so its names keep a short hash and then the readable
``<ns>/<name>/<proto>/<port>`` part.
"""

from __future__ import annotations

import base64
import hashlib

from pyk8s.proxy.interface import Endpoint, ServicePortName


def _hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()


def iptables_chain(prefix: str, name: ServicePortName, endpoint: Endpoint | None = None) -> str:
    text = str(name) + name.protocol.lower() + (endpoint.address if endpoint else "")
    return f"{prefix}-{_hash(text)[:16]}"


def nft_base(name: ServicePortName) -> str:
    return f"{_hash(str(name) + name.protocol.lower())[:8]}-{name.namespace}/{name.name}/{name.protocol.lower()}/{name.port}"


def nft_endpoint_base(name: ServicePortName, endpoint: Endpoint) -> str:
    return f"{_hash(str(name) + name.protocol.lower() + endpoint.address)[:8]}-{name.namespace}/{name.name}/" \
           f"{name.protocol.lower()}/{name.port}__{endpoint.ip}/{endpoint.port}"
