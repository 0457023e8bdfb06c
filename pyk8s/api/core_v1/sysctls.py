"""Pod sysctls (``spec.securityContext.sysctls``), validated as upstream's ValidatePodSpec does.

A name is dotted or slashed segments of lower-case letters, digits, ``-`` and ``_``
(at most 253 characters); names are unique; and a sysctl of the network (``net.*``)
or IPC namespace may not be set by a pod that shares the host's.
"""

from __future__ import annotations

import re
from typing import Any

from pyk8s.machinery.validation import FieldError, duplicate, invalid, required

Obj = dict[str, Any]

MAX_LENGTH = 253
_SEGMENT = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
#: As Go's regexp prints it in the message.
PATTERN = "^(" + _SEGMENT + "[\\./])*" + _SEGMENT + "$"
_NAME = re.compile(PATTERN)
_IPC_PREFIXES = ("kernel.shm", "kernel.msg", "fs.mqueue.")


def valid_name(name: str) -> bool:
    return len(name) <= MAX_LENGTH and _NAME.fullmatch(name) is not None


def _namespace(name: str) -> str:
    """The kernel namespace a sysctl belongs to ("" when it is not namespaced)."""
    name = name.replace("/", ".")
    if name.startswith("net."):
        return "net"
    if name == "kernel.sem" or name.startswith(_IPC_PREFIXES):
        return "ipc"
    return ""


def validate_sysctls(spec: Obj, path: str) -> list[FieldError]:
    """``path`` is the pod spec's; errors name ``<path>.securityContext.sysctls[i].name``."""
    context = spec.get("securityContext")
    items = context.get("sysctls") if isinstance(context, dict) else None
    if not isinstance(items, list):
        return []
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        p = f"{path}.securityContext.sysctls[{i}].name"
        name = item.get("name") if isinstance(item, dict) else None
        if not name or not isinstance(name, str):
            errs.append(required(p))
            continue
        if not valid_name(name):
            errs.append(invalid(p, name, f"must have at most {MAX_LENGTH} characters and match regex {PATTERN}"))
        elif name in seen:
            errs.append(duplicate(p, name))
        ns = _namespace(name)
        if ns == "net" and spec.get("hostNetwork"):
            errs.append(invalid(p, name, "may not be specified when 'hostNetwork' is true"))
        elif ns == "ipc" and spec.get("hostIPC"):
            errs.append(invalid(p, name, "may not be specified when 'hostIPC' is true"))
        seen.add(name)
    return errs
