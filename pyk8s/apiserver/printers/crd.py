"""Printers for custom resources, built from a CRD version's
``additionalPrinterColumns``.

Each column carries a simple JSONPath (``.spec.replicas``,
``.status.conditions[?(@.type=="Ready")].status``, ``.items[0].name``) that is
evaluated against the object; a path that finds nothing gives a null cell
(kubectl prints ``<none>``).  ``date`` columns become ages.  Without any
additional columns a CRD prints Name and Age, as the API server does.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from pyk8s.apiserver.printers.duration import parse_time, rfc3339, since
from pyk8s.apiserver.printers.table import NAME_DESCRIPTION, Column, Printer, age_column, name_column, register

Obj = dict[str, Any]

_STEP = re.compile(r"""\.([^.\[]+)|\[(\d+)\]|\[\*\]|\[\?\(@\.([\w.-]+)\s*==\s*["']?([^"')]*)["']?\)\]""")


def evaluate(path: str, obj: Any) -> list[Any]:
    """All values a simple JSONPath selects (``{...}`` braces are optional)."""
    path = path.strip()
    if path.startswith("{") and path.endswith("}"):
        path = path[1:-1]
    current = [obj]
    pos = 0
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            return []
        pos = m.end()
        key, index, fkey, fval = m.groups()
        nxt: list[Any] = []
        for value in current:
            if key is not None and isinstance(value, dict) and key in value:
                nxt.append(value[key])
            elif index is not None and isinstance(value, list) and int(index) < len(value):
                nxt.append(value[int(index)])
            elif m.group(0) == "[*]" and isinstance(value, list):
                nxt.extend(value)
            elif fkey is not None and isinstance(value, list):
                nxt.extend(v for v in value if isinstance(v, dict) and str(_get(v, fkey)) == fval)
        current = nxt
    return current


def _get(obj: Obj, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)  # type: ignore[assignment]
    return obj


def _cell(kind: str, value: Any, now: datetime) -> Any:
    if value is None:
        return None
    if kind == "date":
        return since(value, now) if parse_time(value) is not None else "<invalid>"
    if kind == "integer":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def crd_printer(columns: list[Obj] | None) -> Printer:
    """A Printer for one CRD version's additionalPrinterColumns (empty: Name, Age)."""
    if not columns:
        columns = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
        defs = [name_column(), Column("Age", "date", age_column().description)]
    else:
        defs = [Column("Name", "string", NAME_DESCRIPTION, format="name")]
        defs += [
            Column(
                str(c.get("name", "")),
                str(c.get("type", "string")),
                str(c.get("description", "")),
                int(c.get("priority") or 0),
                str(c.get("format", "")),
            )
            for c in columns
        ]
    specs = [(str(c.get("type", "string")), str(c.get("jsonPath", ""))) for c in columns]

    def row(obj: Obj, now: datetime) -> list[Any]:
        cells: list[Any] = [str((obj.get("metadata") or {}).get("name", ""))]
        for kind, path in specs:
            found = evaluate(path, obj)
            cells.append(_cell(kind, found[0], now) if found else None)
        return cells

    return Printer(tuple(defs), row)


CREATED_AT = Column("Created At", "date", "When the object was created (metadata.creationTimestamp).")


def _crd_row(obj: Obj, now: datetime) -> list[Any]:
    """``kubectl get crd``: NAME and CREATED AT, as upstream's CRD printer."""
    return [str((obj.get("metadata") or {}).get("name", "")), rfc3339((obj.get("metadata") or {}).get("creationTimestamp"))]


register("apiextensions.k8s.io", "CustomResourceDefinition", [name_column(), CREATED_AT])(_crd_row)
