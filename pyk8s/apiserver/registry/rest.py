"""The contract between the HTTP layer (endpoints) and the registry stores.

The HTTP layer parses paths, query parameters and bodies (JSON, YAML,
protobuf) into plain dicts and these option objects, calls a ``RESTStorage``
and serializes what comes back (JSON, or a Table through
``pyk8s.apiserver.printers``).  Stores raise ``machinery.errors.StatusError``
for every client-visible failure.

One generic store (``registry/generic.py``) implements this for every kind,
driven by the kind's ``Strategy``; a few resources subclass it
(``registry/<group>/<resource>.py``) for what no strategy hook covers
(Service IP allocation, graceful Pod deletion, Namespace termination...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from pyk8s.machinery.scheme import ResourceType

Obj = dict[str, Any]


@dataclass(slots=True)
class WriteOptions:
    dry_run: bool = False  # dryRun=All
    field_manager: str = ""
    field_validation: str = "Warn"  # Strict | Warn | Ignore (query fieldValidation)
    force: bool = False  # server-side apply force
    # Filled by the store: Warning header texts for the response.
    warnings: list[str] = field(default_factory=list)
    user: str = ""  # authenticated user name, for audit/managedFields
    groups: tuple[str, ...] = ()  # the user's groups, for admission (NodeRestriction)


@dataclass(slots=True)
class DeleteOptions:
    dry_run: bool = False
    grace_period_seconds: int | None = None
    propagation_policy: str = ""  # Orphan | Background | Foreground ("" = kind default)
    orphan_dependents: bool | None = None
    preconditions: dict[str, str] = field(default_factory=dict)  # uid / resourceVersion
    # Filled by admission (webhooks): Warning header texts for the response.
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ListOptions:
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""  # NotOlderThan | Exact


@dataclass(slots=True)
class WatchOptions:
    label_selector: str = ""
    field_selector: str = ""
    resource_version: str = ""
    allow_bookmarks: bool = False
    timeout_seconds: float | None = None
    send_initial_events: bool | None = None


@dataclass(slots=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK | ERROR
    object: Obj
    # Serializations of this event that every watcher handed the same event shares, filled
    # by the HTTP layer under a key naming the encoding and the type (so each is encoded
    # once, not once per watcher).  None: not shared, encode for this watcher alone.
    encoded: dict[str, bytes] | None = None
    # Another event follows at once, with no wait: the HTTP layer may write both together
    # (so an iterator that wraps a store's watch and drops events must not drop that one).
    more: bool = False


class RESTStorage(Protocol):
    resource: ResourceType

    async def get(self, namespace: str, name: str, *, resource_version: str = "") -> Obj: ...

    async def list(self, namespace: str, opts: ListOptions) -> Obj:
        """A ``<Kind>List`` with metadata.resourceVersion and metadata.continue."""

    async def create(self, namespace: str, obj: Obj, opts: WriteOptions) -> Obj: ...

    async def update(self, namespace: str, name: str, obj: Obj, opts: WriteOptions,
                     *, subresource: str = "") -> tuple[Obj, bool]:
        """PUT.  Returns (object, created); subresource "" or "status"."""

    async def patch(self, namespace: str, name: str, patch_type: str, patch: Any, opts: WriteOptions,
                    *, subresource: str = "") -> tuple[Obj, bool]:
        """PATCH with a content type (json-patch, merge-patch, strategic-merge-patch,
        apply-patch).  ``patch`` is the decoded body.  Apply may create: returns (object, created)."""

    async def delete(self, namespace: str, name: str, opts: DeleteOptions) -> Obj:
        """The deleted object, or the object now carrying deletionTimestamp."""

    async def delete_collection(self, namespace: str, list_opts: ListOptions, opts: DeleteOptions) -> Obj: ...

    def watch(self, namespace: str, opts: WatchOptions) -> AsyncIterator[WatchEvent]: ...
