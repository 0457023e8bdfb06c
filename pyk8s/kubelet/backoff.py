"""Per-key exponential back-off, as the kubelet's ``flowcontrol.Backoff``.

Used for CrashLoopBackOff (and the same numbers serve ImagePullBackOff).
The kubelet's ``doBackOff`` pattern, for a container that exited at ``t``:
if ``in_backoff_since(key, t, now)`` it waits (CrashLoopBackOff, delay
``get(key)``); otherwise it restarts and calls ``next(key, t, now)``.  So
the first exit restarts at once and arms 10 s; each later exit waits the
armed delay, then doubles it, up to ``MAXIMUM`` (5 min).  A key last
updated more than ``2 * MAXIMUM`` (10 min) before the exit starts over: a
container that ran for 10 minutes is forgiven its past crashes.

Contract (times are seconds on any one axis the caller keeps to):

* ``next(key, at, now=None)`` records the restart after a failure at ``at``
  (``now``, default ``at``, is when: the 10-minute forgiveness counts from
  there) and returns the delay armed for the next failure;
* ``get(key)`` is that delay (0 for an unknown key);
* ``in_backoff_since(key, event, now)`` says whether a restart after a
  failure at ``event`` must still wait at ``now`` (``IsInBackOffSince``);
* ``forget(key)`` drops a key (pod deleted); ``gc(now)`` drops every key
  idle for longer than ``2 * MAXIMUM``.

``crashloop_message`` words the waiting container's message as the kubelet
does: ``back-off 20s restarting failed container=app pod=web_default(uid)``.
No jitter: upstream's container back-off has none either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

INITIAL = 10.0
MAXIMUM = 300.0


@dataclass
class _Entry:
    delay: float
    last_update: float


class Backoff:
    def __init__(self, initial: float = INITIAL, maximum: float = MAXIMUM) -> None:
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[str, _Entry] = {}

    def _expired(self, entry: _Entry, at: float) -> bool:
        return at - entry.last_update > 2 * self.maximum

    def next(self, key: str, at: float, now: float | None = None) -> float:
        """Record a restart of ``key`` after a failure at ``at``; the delay armed for its next failure."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, at):
            entry = self._entries[key] = _Entry(self.initial, at)
        else:
            entry.delay = min(entry.delay * 2, self.maximum)
        entry.last_update = at if now is None else now
        return entry.delay

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.delay if entry is not None else 0.0

    def in_backoff_since(self, key: str, event: float, now: float) -> bool:
        """Whether an attempt that failed at ``event`` must still wait at ``now``."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event):
            return False
        return now - event < entry.delay

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def gc(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if self._expired(e, now)]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


def container_key(pod_uid: str, container: str) -> str:
    """The back-off key of one container of one pod (a new pod uid starts afresh)."""
    return f"{pod_uid}/{container}"


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration`` text for whole seconds: 10s, 1m20s, 5m0s, 1h0m0s."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def crashloop_message(delay: float, container: str, pod: Mapping[str, Any]) -> str:
    """The CrashLoopBackOff waiting message (``format.Pod``: name_namespace(uid))."""
    meta = pod.get("metadata") or {}
    who = f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"
    return f"back-off {go_duration(delay)} restarting failed container={container} pod={who}"
