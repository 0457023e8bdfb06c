"""Rows for the deprecated core/v1 ComponentStatus: NAME, STATUS, MESSAGE, ERROR (as upstream)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import Obj, name_of
from pyk8s.apiserver.printers.table import Column, name_column, register


@register("", "ComponentStatus", [
    name_column(),
    Column("Status", description="Healthy, Unhealthy or Unknown."),
    Column("Message", description="The component's answer."),
    Column("Error", description="Why the component is not healthy."),
])
def componentstatus_row(cs: Obj, now: datetime) -> list[Any]:
    status, message, error = "Unknown", "", ""
    for cond in cs.get("conditions") or []:
        if cond.get("type") != "Healthy":
            continue
        status = {"True": "Healthy", "False": "Unhealthy"}.get(str(cond.get("status")), "Unknown")
        message, error = str(cond.get("message") or ""), str(cond.get("error") or "")
    return [name_of(cs), status, message, error]
