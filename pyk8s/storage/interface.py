"""The revisioned key-value contract every storage driver implements.

Shaped like etcd v3 (and kine): one global revision that only grows; every
write gets the next revision; a key remembers the revision that created it and
the one that last modified it.  Updates and deletes are guarded by the key's
mod revision, which is how the API server gets optimistic concurrency.

Drivers are picked by URL (see ``pyk8s.storage.open_storage``):
``memory://``, ``sqlite:///path/to/file.db``, ``etcd://127.0.0.1:2379``.

Watch semantics: ``watch(prefix, after_revision=R)`` yields every change to a
key under ``prefix`` whose revision is > R, in revision order, with no gap and
no duplicate.  If R is older than the compacted revision the driver raises
``CompactedError`` (the API server turns it into 410 Gone).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Event:
    """One change.  For DELETE, ``kv.value`` is the deleted value and
    ``kv.mod_revision`` is the revision of the deletion itself."""

    type: EventType
    kv: KeyValue
    prev: KeyValue | None  # the previous state, for UPDATE and DELETE

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


@dataclass(frozen=True, slots=True)
class ListResult:
    items: list[KeyValue]
    revision: int  # the revision the list was read at
    more: bool  # True when ``limit`` cut the result short
    remaining: int | None = None  # items left after the last one, when known


class StorageError(Exception):
    """Base of the storage error hierarchy."""


class KeyExistsError(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key exists: {key}")
        self.key = key


class KeyNotFoundError(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key}")
        self.key = key


class RevisionConflictError(StorageError):
    """The key's mod revision was not the one the caller expected."""

    def __init__(self, key: str, current: KeyValue | None) -> None:
        super().__init__(f"revision conflict on {key}")
        self.key = key
        self.current = current


class CompactedError(StorageError):
    """The requested revision is older than the compaction point."""

    def __init__(self, requested: int, compacted: int, current: int = 0) -> None:
        super().__init__(f"required revision {requested} has been compacted (compacted at {compacted})")
        self.requested = requested
        self.compacted = compacted
        self.current = current


class FutureRevisionError(StorageError):
    """A read asked for a revision the store has not reached yet."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"revision {requested} is newer than the current revision {current}")
        self.requested = requested
        self.current = current


class Storage(Protocol):
    """The narrow interface.  All methods are coroutines except ``watch``,
    which returns an async iterator that the caller stops with ``aclose()``
    (or by cancelling the task iterating it)."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def current_revision(self) -> int: ...

    async def compacted_revision(self) -> int: ...

    async def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        """The value at ``revision`` (0 = latest), or None."""

    async def list(
        self, prefix: str, *, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        """Keys under ``prefix`` in key order, read at one consistent revision
        (0 = latest).  ``start_after`` (exclusive) and ``limit`` (0 = all) page
        through; the caller pins later pages to the first page's revision."""

    async def count(self, prefix: str) -> int: ...

    async def create(self, key: str, value: bytes) -> KeyValue:
        """Raises KeyExistsError."""

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        """Raises KeyNotFoundError or RevisionConflictError.  An
        ``expected_revision`` of 0 means unconditional."""

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        """Returns the deleted value with mod_revision = the delete revision.
        Raises KeyNotFoundError or RevisionConflictError."""

    def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        """Changes under ``prefix`` with revision > ``after_revision``.
        Raises CompactedError (on first iteration) when too old."""

    async def compact(self, revision: int) -> None:
        """Forget history at or below ``revision`` (latest values stay)."""
