"""Rows for flowcontrol.apiserver.k8s.io: FlowSchema and PriorityLevelConfiguration (upstream's columns)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import Obj, dig, name_of
from pyk8s.apiserver.printers.duration import since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register

GROUP = "flowcontrol.apiserver.k8s.io"


@register(GROUP, "FlowSchema", [
    name_column(),
    Column("PriorityLevel", description="The priority level requests of this schema go to."),
    Column("MatchingPrecedence", "string", "Lower values are matched first."),
    Column("DistinguisherMethod", description="How requests are split into flows (* when not split)."),
    age_column(),
    Column("MissingPL", description="Whether the referenced priority level is missing (? when unknown)."),
])
def flowschema_row(fs: Obj, now: datetime) -> list[Any]:
    spec = fs.get("spec") or {}
    missing = "?"
    for cond in dig(fs, "status", "conditions", default=[]) or []:
        if cond.get("type") == "Dangling":
            missing = str(cond.get("status") or "")
    return [
        name_of(fs),
        dig(spec, "priorityLevelConfiguration", "name", default="") or "",
        str(spec.get("matchingPrecedence", "")),
        dig(spec, "distinguisherMethod", "type", default=None) or "*",
        since(dig(fs, "metadata", "creationTimestamp"), now),
        missing,
    ]


@register(GROUP, "PriorityLevelConfiguration", [
    name_column(),
    Column("Type", description="Exempt or Limited."),
    Column("NominalConcurrencyShares", "string", "Share of the server's concurrency."),
    Column("Queues", "string", "Number of queues."),
    Column("HandSize", "string", "Queues a flow is shuffle-sharded onto."),
    Column("QueueLengthLimit", "string", "Requests a queue holds."),
    age_column(),
])
def prioritylevel_row(pl: Obj, now: datetime) -> list[Any]:
    spec = pl.get("spec") or {}
    shares = queues = hand = length = "<none>"
    limited = spec.get("limited")
    if isinstance(limited, dict):
        shares = str(limited.get("nominalConcurrencyShares", 0))
        queuing = dig(limited, "limitResponse", "queuing", default=None)
        if isinstance(queuing, dict):
            queues, hand, length = (str(queuing.get(k, 0)) for k in ("queues", "handSize", "queueLengthLimit"))
    return [name_of(pl), spec.get("type") or "", shares, queues, hand, length,
            since(dig(pl, "metadata", "creationTimestamp"), now)]
