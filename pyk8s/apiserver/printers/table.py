"""Building meta.k8s.io/v1 Tables from plain objects.

A ``Printer`` is a list of column definitions plus a row function that turns
one object into its cells.  Printers register per (API group, kind), so every
version of a kind shares one printer (the columns are the same in every
version Kubernetes serves).  Kinds without a printer get Name and Age.

``to_table`` is what the HTTP layer calls for a list, a get or a watch event:
it adds each row's ``object`` (PartialObjectMetadata, the full object, or
nothing, as ``includeObject`` asks) and the list metadata kubectl pages with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyk8s.apiserver.printers.duration import since
from pyk8s.machinery.scheme import ResourceType

Obj = dict[str, Any]
RowFn = Callable[[Obj, datetime], list[Any]]
ConditionsFn = Callable[[Obj], list[Obj]]

NAME_DESCRIPTION = "Name of the object, unique within its namespace (or cluster-wide for cluster-scoped kinds)."
AGE_DESCRIPTION = "Time since the object was created (metadata.creationTimestamp)."


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str = ""

    def definition(self) -> Obj:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


def name_column() -> Column:
    return Column("Name", "string", NAME_DESCRIPTION, format="name")


def age_column() -> Column:
    return Column("Age", "string", AGE_DESCRIPTION)


def wide(name: str, description: str, type_: str = "string") -> Column:
    """A column kubectl only shows with ``-o wide`` (priority 1)."""
    return Column(name, type_, description, priority=1)


@dataclass(frozen=True, slots=True)
class Printer:
    columns: tuple[Column, ...]
    row: RowFn
    conditions: ConditionsFn | None = None


_PRINTERS: dict[tuple[str, str], Printer] = {}


def register(
    group: str, kind: str, columns: list[Column], *, conditions: ConditionsFn | None = None
) -> Callable[[RowFn], RowFn]:
    """Decorator: ``row_fn(obj, now) -> cells`` becomes the printer of group/kind."""

    def wrap(fn: RowFn) -> RowFn:
        _PRINTERS[(group, kind)] = Printer(tuple(columns), fn, conditions)
        return fn

    return wrap


def register_printer(group: str, kind: str, printer: Printer) -> None:
    """Install a printer built elsewhere (e.g. from a CRD's additionalPrinterColumns)."""
    _PRINTERS[(group, kind)] = printer


def unregister_printer(group: str, kind: str) -> None:
    _PRINTERS.pop((group, kind), None)


def _default_row(obj: Obj, now: datetime) -> list[Any]:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), since(meta.get("creationTimestamp"), now)]


DEFAULT_PRINTER = Printer((name_column(), age_column()), _default_row)


def printer_for(group: str, kind: str) -> Printer:
    return _PRINTERS.get((group, kind), DEFAULT_PRINTER)


def column_definitions(rt: ResourceType) -> list[Obj]:
    return [c.definition() for c in printer_for(rt.group, rt.kind).columns]


def _row_object(rt: ResourceType, obj: Obj, include_object: str) -> Obj | None:
    if include_object == "None":
        return None
    if include_object == "Object":
        if obj.get("kind") and obj.get("apiVersion"):
            return obj
        return {"kind": rt.kind, "apiVersion": rt.api_version, **obj}
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def to_table(
    rt: ResourceType,
    items: list[Obj],
    *,
    include_object: str = "Metadata",
    list_meta: Obj | None = None,
    with_column_definitions: bool = True,
    now: datetime | None = None,
) -> Obj:
    """A meta.k8s.io/v1 Table for ``items`` of resource ``rt``.

    ``include_object`` is the request's includeObject: ``Metadata`` (default,
    PartialObjectMetadata), ``Object`` (the whole object) or ``None``.
    ``list_meta`` (resourceVersion, continue, remainingItemCount) is copied to
    the Table's metadata.  Watch events after the first pass
    ``with_column_definitions=False``.  ``now`` pins the clock for ages.
    """
    printer = printer_for(rt.group, rt.kind)
    when = now or datetime.now(UTC)
    rows: list[Obj] = []
    for obj in items:
        row: Obj = {"cells": printer.row(obj, when)}
        if printer.conditions is not None:
            conditions = printer.conditions(obj)
            if conditions:
                row["conditions"] = conditions
        embedded = _row_object(rt, obj, include_object)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta or {}),
        "columnDefinitions": [c.definition() for c in printer.columns] if with_column_definitions else [],
        "rows": rows,
    }
