"""The writes a controller's pure ``plan`` asks the wiring layer to perform.

A plan never talks to the API server: it returns these values and the
``sync(key)`` wiring applies them through the client, in list order.  Each
action names the resource (plural, as in the URL), so one executor serves
every controller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STRATEGIC_MERGE = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"


@dataclass(frozen=True, slots=True)
class Create:
    resource: str
    namespace: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Delete:
    resource: str
    namespace: str
    name: str
    # Precondition UID (upstream deletes with Preconditions.UID where it matters).
    uid: str | None = None
    # "Background" or "Foreground"; None lets the server default apply.
    propagation_policy: str | None = None


@dataclass(frozen=True, slots=True)
class Patch:
    resource: str
    namespace: str
    name: str
    patch: dict[str, Any]
    patch_type: str = STRATEGIC_MERGE
    subresource: str = ""


@dataclass(frozen=True, slots=True)
class Update:
    """A PUT of ``body`` (``subresource="status"`` for the status endpoint)."""

    resource: str
    namespace: str
    body: dict[str, Any]
    subresource: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """An event for the recorder: ``type`` is Normal or Warning."""

    type: str
    reason: str
    message: str


Action = Create | Delete | Patch | Update


@dataclass(slots=True)
class Plan:
    """Generic result of a controller's decision step."""

    actions: list[Action] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    # Seconds after which sync should run again even without a watch event.
    requeue_after: float | None = None
