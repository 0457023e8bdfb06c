"""Downward API values: ``fieldRef`` and ``resourceFieldRef``, shared by env vars and volumes.

``pod_field`` answers the field paths upstream's kubelet resolves itself
(spec.nodeName, status.podIP(s), status.hostIP(s), ...) and the metadata paths
of ``fieldpath.ExtractFieldPathAsString``; whole label/annotation maps are
formatted as ``key="value"`` lines (Go ``%q`` quoting), sorted by key.
``resource_value`` rounds up ``value / divisor`` as upstream does (millicores
for cpu), with unset limits defaulting to the node's allocatable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyk8s.machinery import quantity as qty

Obj = dict[str, Any]
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class FieldPathError(ValueError):
    pass


@dataclass
class PodNetwork:
    """Addresses known only to the kubelet: the sandbox's IPs and the node's."""

    pod_ips: list[str] = field(default_factory=list)
    host_ips: list[str] = field(default_factory=list)


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` for the characters labels and annotations hold."""
    out = ['"']
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b",
               "\f": "\\f", "\v": "\\v"}
    for ch in text:
        if ch in escapes:
            out.append(escapes[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def format_map(values: Mapping[str, str]) -> str:
    return "\n".join(f"{k}={go_quote(values[k])}" for k in sorted(values))


def pod_field(pod: Obj, path: str, network: PodNetwork) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": network.host_ips[0] if network.host_ips else "",
        "status.hostIPs": ",".join(network.host_ips),
        "status.podIP": network.pod_ips[0] if network.pod_ips else "",
        "status.podIPs": ",".join(network.pod_ips),
    }
    if path in simple:
        return str(simple[path] or "")
    if path in ("metadata.labels", "metadata.annotations"):
        return format_map(meta.get(path.split(".")[1]) or {})
    m = _SUBSCRIPT.match(path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    raise FieldPathError(f"unsupported fieldPath: {path}")


_RESOURCES = ("limits.cpu", "limits.memory", "limits.ephemeral-storage",
              "requests.cpu", "requests.memory", "requests.ephemeral-storage")


def resource_value(ref: Obj, container: Obj, allocatable: Mapping[str, str]) -> str:
    """``resourceFieldRef`` of ``container``; unset limits fall back to node allocatable."""
    resource = ref.get("resource", "")
    divisor = qty.parse(ref.get("divisor") or "1")
    if divisor.is_zero():
        divisor = qty.parse("1")
    kind, _, name = resource.partition(".")
    if resource not in _RESOURCES and not name.startswith("hugepages-"):
        raise FieldPathError(f"unsupported container resource : {resource}")
    values = (container.get("resources") or {}).get(kind) or {}
    raw = values.get(name)
    if raw is None and kind == "limits":
        raw = allocatable.get(name)
    amount = qty.parse(raw if raw is not None else 0)
    if name == "cpu":
        return str(math.ceil(amount.milli_value() / divisor.milli_value()))
    return str(math.ceil(amount.int_value() / divisor.int_value()))


def find_container(pod: Obj, name: str) -> Obj | None:
    spec = pod.get("spec") or {}
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for ctr in spec.get(key) or []:
            if ctr.get("name") == name:
                return ctr
    return None
