"""Pod Security evaluations remembered per (level, version, the pod's security-relevant fields).

Pods of one workload differ in names, labels, the ServiceAccount token volume's random name and the
like, none of which a check reads; their security settings are nearly always the same, so the
checks' answer is too.  ``evaluate`` keys its memo on exactly what ``checks`` reads:

* annotations: the AppArmor and seccomp ones only;
* the spec's ``hostNetwork``, ``hostPID``, ``hostIPC``, ``os`` and pod ``securityContext``;
* per container (init, regular, ephemeral, in that order): its name, ``securityContext`` and host ports;
* per volume: its source type, and its name when a check can name it (a source other than the
  restricted level's allowed ones: hostPath and the like); the token volume's name is left out.

A key holds values as the request sent them (after defaulting), so two pods share an answer only
when every field a check reads is equal; the answer is the very list ``checks.evaluate`` gives.
"""

from __future__ import annotations

from typing import Any

import orjson

from pyk8s.apiserver.admission.podsecurity import checks

Obj = dict[str, Any]
_SPEC_KEYS = ("hostNetwork", "hostPID", "hostIPC", "os", "securityContext")
_ANNOTATION_PREFIXES = (checks.APPARMOR_PREFIX, checks.SECCOMP_POD_ANNOTATION, checks.SECCOMP_CONTAINER_PREFIX)
MAX_ENTRIES = 2048  # distinct (level, version, settings); cleared when full (a bound, not an eviction policy)
_memo: dict[bytes, tuple[checks.Violation, ...]] = {}


def _volume(v: Obj) -> list[str]:
    source = next((k for k in checks.VOLUME_SOURCES if k in v), None)
    if source is None:
        source = next((k for k in v if k != "name"), "unknown")
    return [source, "" if source in checks.RESTRICTED_VOLUMES else str(v.get("name"))]


def _container(c: Obj) -> list[Any]:
    ports = [str(p.get("hostPort")) for p in c.get("ports") or [] if isinstance(p, dict) and p.get("hostPort")]
    return [str(c.get("name")), c.get("securityContext"), ports]


def key(level: str, meta: Obj, spec: Obj, version: str | None) -> bytes | None:
    """The memo key, or None when the pod holds something the key cannot encode (then evaluate directly)."""
    notes = meta.get("annotations") or {}
    try:
        return orjson.dumps([
            level, version,
            sorted((k, str(v)) for k, v in notes.items() if k.startswith(_ANNOTATION_PREFIXES))
            if isinstance(notes, dict) else None,
            [spec.get(k) for k in _SPEC_KEYS],
            [_container(c) for c in checks._visit(spec)],  # noqa: SLF001 - the checks' own container order
            [_volume(v) for v in spec.get("volumes") or [] if isinstance(v, dict)],
        ], option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return None


def evaluate(level: str, meta: Obj, spec: Obj, version: str | None = None) -> list[checks.Violation]:
    """``checks.evaluate``'s answer, from the memo when a pod with the same security fields was judged."""
    if level == "privileged":
        return []
    k = key(level, meta, spec, version)
    if k is not None and (found := _memo.get(k)) is not None:
        return list(found)
    result = checks.evaluate(level, meta, spec, version)
    if k is not None:
        if len(_memo) >= MAX_ENTRIES:
            _memo.clear()
        _memo[k] = tuple(result)
    return result
