"""Cell formatting shared by several kinds: labels, selectors, containers.

These mirror the string forms kubectl users know: ``app=web,tier=fe`` for
label maps (sorted by key), the canonical selector syntax for label selectors,
comma-joined container names and images, ``<none>`` for empty values.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
NONE = "<none>"


def dig(obj: Any, *path: str, default: Any = None) -> Any:
    """Follow nested dict keys; any missing or non-dict step gives ``default``."""
    cur = obj
    for key in path:
        if not isinstance(cur, dict):
            return default
        cur = cur.get(key)
        if cur is None:
            return default
    return cur


def format_labels(labels: dict[str, str] | None) -> str:
    """``k=v,...`` sorted by key, or ``<none>``."""
    if not labels:
        return NONE
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_string(selector: Obj | None) -> str:
    """A LabelSelector in canonical string form; ``""`` when it selects all or nothing."""
    if not selector:
        return ""
    parts: list[tuple[str, str]] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        parts.append((key, f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        key = expr.get("key", "")
        values = ",".join(sorted(expr.get("values") or []))
        op = expr.get("operator", "")
        if op == "In":
            parts.append((key, f"{key} in ({values})"))
        elif op == "NotIn":
            parts.append((key, f"{key} notin ({values})"))
        elif op == "Exists":
            parts.append((key, key))
        elif op == "DoesNotExist":
            parts.append((key, f"!{key}"))
    # Requirements print sorted by key; Python's sort is stable for equal keys.
    parts.sort(key=lambda p: p[0])
    return ",".join(text for _, text in parts)


def format_selector(selector: Obj | None) -> str:
    """Like ``selector_string`` but ``<none>`` when empty (ReplicaSet, Job, ...)."""
    return selector_string(selector) or NONE


def container_cells(pod_spec: Obj | None) -> tuple[str, str]:
    """Comma-joined container names and images of a pod spec."""
    containers = (pod_spec or {}).get("containers") or []
    names = ",".join(str(c.get("name", "")) for c in containers)
    images = ",".join(str(c.get("image", "")) for c in containers)
    return names, images


def template_spec(obj: Obj) -> Obj:
    """``spec.template.spec`` of a workload object (empty dict if absent)."""
    return dig(obj, "spec", "template", "spec", default={})


def int_or_string(value: Any) -> str:
    """An IntOrString field as printed (``1`` or ``50%``)."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def name_of(obj: Obj) -> str:
    return str(dig(obj, "metadata", "name", default=""))


def print_bool(value: Any) -> str:
    """Go's printBoolPtr: ``True``/``False``, ``<unset>`` when missing."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"


ACCESS_MODE_SHORT = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def access_modes(modes: list[str] | None) -> str:
    """Volume access modes abbreviated, in a fixed order (``RWO,RWX``)."""
    present = set(modes or [])
    return ",".join(short for full, short in ACCESS_MODE_SHORT if full in present)
