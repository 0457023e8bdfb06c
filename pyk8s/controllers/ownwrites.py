"""Reading past a lagging cache: the objects a controller itself just wrote.

A controller writes an object's status and, a moment later, may be woken by
an event from another informer (a pod whose finalizer it removed, a Job it
created) before its own informer has delivered that write.  Deciding from
the stale copy would redo recorded work: count a pod twice, start the same
scheduled Job again.  Upstream re-reads with a GET in such places; we avoid
the round trip instead: ``OwnWrites`` remembers, per key, the
resourceVersions our writes replaced and the object the server returned.
While the cache still shows a replaced version, ``fresh`` answers the
written object.  Once the cache shows anything else (our write, or a later
one) the record is dropped and the cache is trusted again.

Writes based on the answered object still carry its resourceVersion, so a
concurrent change by someone else surfaces as a 409 and a retry, as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass(slots=True)
class _Written:
    uid: str
    replaced: set[str] = field(default_factory=set)  # resourceVersions our writes superseded
    obj: Obj = field(default_factory=dict)


class OwnWrites:
    def __init__(self) -> None:
        self._records: dict[str, _Written] = {}

    def remember(self, key: str, before: Obj, written: Obj) -> None:
        """``written`` is what the server returned for a write based on ``before``."""
        meta = before.get("metadata") or {}
        uid = meta.get("uid", "")
        record = self._records.get(key)
        if record is None or record.uid != uid:
            record = self._records[key] = _Written(uid)
        record.replaced.add(meta.get("resourceVersion", ""))
        record.obj = written

    def fresh(self, key: str, cached: Obj) -> Obj:
        """The newest copy we know of: ``cached``, or our own later write of it."""
        record = self._records.get(key)
        if record is None:
            return cached
        meta = cached.get("metadata") or {}
        if meta.get("uid") == record.uid and meta.get("resourceVersion") in record.replaced:
            return record.obj
        del self._records[key]
        return cached

    def forget(self, key: str) -> None:
        self._records.pop(key, None)


def numeric_rv(obj: Obj) -> int:
    """An object's resourceVersion as a number, for "is the cache behind my own write?" checks;
    0 for a missing or opaque (non-numeric) version, so that the cache is trusted then."""
    text = str((obj.get("metadata") or {}).get("resourceVersion") or "0")
    return int(text) if text.isdigit() else 0
