"""What controllers read off a Pod: active, ready, available, and deletion order.

Follows ``pkg/api/v1/pod`` and ``pkg/controller/controller_utils.go``:

* active = not Succeeded/Failed and no deletionTimestamp (``FilterActivePods``);
* ready and available: ``pyk8s.api.core_v1.helpers.podready``;
* ``deletion_order`` sorts pods so the ones to delete first come first, the
  ``ActivePodsWithRanks`` comparison: unassigned < assigned; Pending < Unknown
  < Running; not ready < ready; lower ``controller.kubernetes.io/pod-deletion-cost``
  first; higher rank (more sibling pods on the same node) first; ready for a
  shorter time first; more container restarts first; newer first.  Empty
  timestamps count as newest (``afterOrZero``).  When ``now`` is given the
  two time comparisons use upstream's LogarithmicScaleDown buckets
  (``floor(log2(age in ns))``, ties broken by UID), as 1.32 does by default;
  without ``now`` they compare exact times (plain ``ActivePods``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.api.core_v1.helpers.podready import is_pod_ready, ready_since

_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"

Pod = Mapping[str, Any]


def is_active(pod: Pod) -> bool:
    phase = pod.get("status", {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not pod.get("metadata", {}).get("deletionTimestamp")


def is_terminating(pod: Pod) -> bool:
    return bool(pod.get("metadata", {}).get("deletionTimestamp"))


def max_restarts(pod: Pod) -> int:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return max((s.get("restartCount", 0) for s in statuses), default=0)


def deletion_cost(pod: Pod) -> int:
    raw = (pod.get("metadata", {}).get("annotations") or {}).get(DELETION_COST_ANNOTATION)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def _after_or_zero(t1: datetime | None, t2: datetime | None) -> bool:
    if t1 is None or t2 is None:
        return t1 is None
    return t1 > t2


def _log_rank(moment: datetime, now: datetime) -> int:
    nanos = (now - moment) / timedelta(microseconds=1) * 1000
    return int(math.log2(nanos)) if nanos > 0 else -1


def _compare_times(t1: datetime | None, t2: datetime | None, now: datetime | None,
                   uids: tuple[str, str]) -> bool | None:
    """True/False when the times decide ``i < j``; None when they are equal."""
    if t1 == t2:
        return None
    if now is None or t1 is None or t2 is None:
        return _after_or_zero(t1, t2)
    diff = _log_rank(t1, now) - _log_rank(t2, now)
    return uids[0] < uids[1] if diff == 0 else diff < 0


def _less(a: tuple[Pod, int], b: tuple[Pod, int], now: datetime | None) -> bool:  # noqa: PLR0911
    (p1, r1), (p2, r2) = a, b
    n1, n2 = p1.get("spec", {}).get("nodeName") or "", p2.get("spec", {}).get("nodeName") or ""
    if n1 != n2 and (not n1 or not n2):
        return not n1
    ph1 = _PHASE_ORDINAL.get(p1.get("status", {}).get("phase", ""), 0)
    ph2 = _PHASE_ORDINAL.get(p2.get("status", {}).get("phase", ""), 0)
    if ph1 != ph2:
        return ph1 < ph2
    if is_pod_ready(p1) != is_pod_ready(p2):
        return not is_pod_ready(p1)
    if deletion_cost(p1) != deletion_cost(p2):
        return deletion_cost(p1) < deletion_cost(p2)
    if r1 != r2:
        return r1 > r2
    uids = (p1.get("metadata", {}).get("uid", ""), p2.get("metadata", {}).get("uid", ""))
    if is_pod_ready(p1) and is_pod_ready(p2):
        decided = _compare_times(ready_since(p1), ready_since(p2), now, uids)
        if decided is not None:
            return decided
    if max_restarts(p1) != max_restarts(p2):
        return max_restarts(p1) > max_restarts(p2)
    c1 = timestamps.parse_time(p1.get("metadata", {}).get("creationTimestamp"))
    c2 = timestamps.parse_time(p2.get("metadata", {}).get("creationTimestamp"))
    decided = _compare_times(c1, c2, now, uids)
    return bool(decided)


def deletion_order(pods: Sequence[Pod], ranks: Sequence[int] | None = None,
                   now: datetime | None = None) -> list[Pod]:
    """``pods`` sorted so the best candidates for deletion come first (stable)."""
    ranked = list(zip(pods, ranks if ranks is not None else [0] * len(pods), strict=True))

    def cmp(a: tuple[Pod, int], b: tuple[Pod, int]) -> int:
        return -1 if _less(a, b, now) else (1 if _less(b, a, now) else 0)

    return [p for p, _ in sorted(ranked, key=functools.cmp_to_key(cmp))]


def ranks_by_node(pods: Sequence[Pod], related: Sequence[Pod]) -> list[int]:
    """``getPodsRankedByRelatedPodsOnSameNode``: per pod, active related pods on its node."""
    per_node: dict[str, int] = {}
    for pod in related:
        node = pod.get("spec", {}).get("nodeName")
        if node and is_active(pod):
            per_node[node] = per_node.get(node, 0) + 1
    return [per_node.get(p.get("spec", {}).get("nodeName") or "", 0) for p in pods]
