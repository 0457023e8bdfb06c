"""Server-side printing for ``kubectl get``: objects and lists as Tables.

The columns come from ``pyk8s.apiserver.printers``; this module only wires
the request's ``includeObject`` and list metadata through, and builds the
one-row Tables a Table watch sends per event.
"""

from __future__ import annotations

from typing import Any

from pyk8s.apiserver import printers
from pyk8s.machinery.errors import bad_request
from pyk8s.machinery.scheme import ResourceType

Obj = dict[str, Any]
INCLUDE_OBJECT = ("None", "Metadata", "Object")


def include_object(query: Any) -> str:
    value = query.get("includeObject", "") or "Metadata"
    if value not in INCLUDE_OBJECT:
        raise bad_request(f'includeObject: Unsupported value: "{value}": supported values: "Metadata", "None", "Object"')
    return value


def _stamp(table: Obj, version: str) -> Obj:
    table["apiVersion"] = f"meta.k8s.io/{version}"
    return table


def object_table(rt: ResourceType, obj: Obj, *, include: str, version: str, columns: bool = True) -> Obj:
    meta = obj.get("metadata") or {}
    list_meta = {"resourceVersion": meta["resourceVersion"]} if meta.get("resourceVersion") else {}
    table = printers.to_table(rt, [obj], include_object=include, list_meta=list_meta,
                              with_column_definitions=columns)
    return _stamp(table, version)


def list_table(rt: ResourceType, lst: Obj, *, include: str, version: str) -> Obj:
    meta = lst.get("metadata") or {}
    list_meta = {k: meta[k] for k in ("resourceVersion", "continue", "remainingItemCount") if meta.get(k) is not None}
    if "continue" not in list_meta:
        list_meta["continue"] = ""
    table = printers.to_table(rt, lst.get("items") or [], include_object=include, list_meta=list_meta)
    return _stamp(table, version)
