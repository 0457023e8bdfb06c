"""Rows for PriorityClass: NAME, VALUE, GLOBAL-DEFAULT, AGE, PREEMPTIONPOLICY."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import Obj, dig, name_of
from pyk8s.apiserver.printers.duration import since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register


@register(
    "scheduling.k8s.io",
    "PriorityClass",
    [
        name_column(),
        Column("Value", "integer", "The priority pods of this class receive."),
        Column("Global-Default", "boolean", "Whether pods naming no class get this one."),
        age_column(),
        Column("PreemptionPolicy", description="Whether pods of this class may preempt lower-priority pods."),
    ],
)
def priorityclass_row(pc: Obj, now: datetime) -> list[Any]:
    return [
        name_of(pc),
        value if isinstance(value := pc.get("value"), int) else 0,
        bool(pc.get("globalDefault") or False),
        since(dig(pc, "metadata", "creationTimestamp"), now),
        pc.get("preemptionPolicy") or "",
    ]
