"""Controller expectations: do not act twice on a stale cache.

A controller that just created 3 pods will not see them in its informer
cache for a moment; a sync in between would count 0 pods and create 3 more.
So before creating it records ``expect_creations(key, 3)``, the informer's
add handler calls ``creation_observed(key)`` for each pod it sees, and
``sync`` proceeds to act only when ``satisfied(key)``: no record, all
expected events observed, or the record is older than ``timeout`` (5 min,
as upstream: a missed event must not wedge the controller forever).

Time comes from the injected clock.  Single event loop: no locking.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyk8s.util.clock import REAL_CLOCK, Clock

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Record:
    add: int
    delete: int
    stamp: float


class ControllerExpectations:
    def __init__(self, *, clock: Clock = REAL_CLOCK, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.clock = clock
        self.timeout = timeout
        self._records: dict[str, _Record] = {}

    def expect_creations(self, key: str, count: int) -> None:
        self.set(key, add=count, delete=0)

    def expect_deletions(self, key: str, count: int) -> None:
        self.set(key, add=0, delete=count)

    def set(self, key: str, *, add: int, delete: int) -> None:
        self._records[key] = _Record(add, delete, self.clock.monotonic())

    def raise_expectations(self, key: str, *, add: int = 0, delete: int = 0) -> None:
        rec = self._records.get(key)
        if rec is None:
            self.set(key, add=add, delete=delete)
        else:
            rec.add += add
            rec.delete += delete

    def lower_expectations(self, key: str, *, add: int = 0, delete: int = 0) -> None:
        rec = self._records.get(key)
        if rec is not None:
            rec.add -= add
            rec.delete -= delete

    def creation_observed(self, key: str) -> None:
        self.lower_expectations(key, add=1)

    def deletion_observed(self, key: str) -> None:
        self.lower_expectations(key, delete=1)

    def delete(self, key: str) -> None:
        """Forget ``key`` (its owner was deleted)."""
        self._records.pop(key, None)

    def pending(self, key: str) -> tuple[int, int] | None:
        rec = self._records.get(key)
        return None if rec is None else (rec.add, rec.delete)

    def satisfied(self, key: str) -> bool:
        rec = self._records.get(key)
        if rec is None:
            return True
        if rec.add <= 0 and rec.delete <= 0:
            return True
        return self.clock.monotonic() - rec.stamp > self.timeout
