"""Controller expectations: do not act again until the cache has caught up.

Mirrors ``ControllerExpectations`` / ``UIDTrackingControllerExpectations`` in
``pkg/controller/controller_utils.go``.  After a sync issues N creations (or
deletions) it records that many pending adds (dels) under the controller's
``namespace/name`` key; informer handlers lower them as the pods show up (go
away).  ``satisfied`` is true when nothing is pending, when the record has
aged past five minutes (a lost watch event must not wedge the controller), or
when no record exists.  Time is passed in explicitly, so tests use a fixed
clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

EXPECTATIONS_TIMEOUT = timedelta(minutes=5)


@dataclass(slots=True)
class _Record:
    add: int
    delete: int
    timestamp: datetime
    # Keys of the objects whose deletion we await (UID tracking).
    deleting: set[str] = field(default_factory=set)


class Expectations:
    """Pending creations and deletions per controller key."""

    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}

    def expect(self, key: str, *, adds: int = 0, deletes: int = 0, now: datetime,
               deleting: set[str] | None = None) -> None:
        """``SetExpectations``: replace the record for ``key``."""
        self._records[key] = _Record(adds, deletes, now, set(deleting or ()))

    def expect_creations(self, key: str, count: int, now: datetime) -> None:
        self.expect(key, adds=count, now=now)

    def expect_deletions(self, key: str, pod_keys: list[str], now: datetime) -> None:
        """Await the deletion of exactly these objects (``namespace/name``)."""
        self.expect(key, deletes=len(pod_keys), deleting=set(pod_keys), now=now)

    def creation_observed(self, key: str) -> None:
        self.lower(key, adds=1)

    def deletion_observed(self, key: str, pod_key: str | None = None) -> None:
        """Count a deletion; with ``pod_key`` only if that object was awaited."""
        record = self._records.get(key)
        if record is None:
            return
        if pod_key is not None:
            if pod_key not in record.deleting:
                return
            record.deleting.discard(pod_key)
        record.delete -= 1

    def lower(self, key: str, *, adds: int = 0, deletes: int = 0) -> None:
        record = self._records.get(key)
        if record is not None:
            record.add -= adds
            record.delete -= deletes

    def raise_(self, key: str, *, adds: int = 0, deletes: int = 0) -> None:
        record = self._records.get(key)
        if record is not None:
            record.add += adds
            record.delete += deletes

    def pending(self, key: str) -> tuple[int, int] | None:
        record = self._records.get(key)
        return None if record is None else (record.add, record.delete)

    def satisfied(self, key: str, now: datetime) -> bool:
        record = self._records.get(key)
        if record is None:
            return True
        if record.add <= 0 and record.delete <= 0:
            return True
        return now - record.timestamp > EXPECTATIONS_TIMEOUT

    def forget(self, key: str) -> None:
        """``DeleteExpectations``: the controller object is gone."""
        self._records.pop(key, None)
