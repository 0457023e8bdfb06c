"""The rollout strategies and history cleanup, steps of ``sync.plan``.

``rolling`` is ``rolloutRolling`` (``reconcileNewReplicaSet``,
``reconcileOldReplicaSets`` with ``cleanupUnhealthyReplicas`` and
``scaleDownOldReplicaSetsForRollingUpdate``); ``recreate`` is
``rolloutRecreate``; ``scale_only`` is ``sync`` (paused Deployments and
scaling events); ``cleanup`` is ``cleanupDeployment``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pyk8s.controllers import actions
from pyk8s.controllers.deployment import progress, revision
from pyk8s.controllers.deployment import rollingmath as rm

if TYPE_CHECKING:
    from pyk8s.controllers.deployment.sync import _Sync

RS = dict[str, Any]


def _available(rs: RS) -> int:
    return int((rs.get("status") or {}).get("availableReplicas") or 0)


def _finish_rollout(s: _Sync, new: RS | None, old: list[RS]) -> None:
    all_rss = [rs for rs in [*old, new] if rs is not None]
    s.plan.status = progress.rollout_status(s.d, all_rss, new, s.now)
    s.plan.requeue_after = progress.requeue_after(s.d, s.plan.status, s.now)
    s.plan.new_rs_name = None if new is None else new["metadata"]["name"]


def status_only(s: _Sync) -> None:
    new, old = s.sync_revision(create=False)
    s.plan.status = progress.calculate_status(s.d, [rs for rs in [*old, new] if rs], new, s.now)


def scale_only(s: _Sync) -> None:
    new, old = s.sync_revision(create=False)
    s.proportional_scale(new, old)
    if s.d["spec"].get("paused"):
        cleanup(s, old)
    s.plan.status = progress.calculate_status(s.d, [rs for rs in [*old, new] if rs], new, s.now)
    s.plan.new_rs_name = None if new is None else new["metadata"]["name"]


def rolling(s: _Sync) -> None:
    new, old = s.sync_revision(create=True)
    assert new is not None
    all_rss = [*old, new]
    if _reconcile_new(s, all_rss, new) or _reconcile_old(s, all_rss, [rs for rs in old if rm.rs_replicas(rs)], new):
        _finish_rollout(s, new, old)
        return
    if progress.complete(s.d, s.d["status"]):  # upstream checks the stored status here
        cleanup(s, old)
    _finish_rollout(s, new, old)


def _reconcile_new(s: _Sync, all_rss: list[RS], new: RS) -> bool:
    want = rm.replicas(s.d)
    if rm.rs_replicas(new) == want:
        return False
    if rm.rs_replicas(new) > want:
        return s.scale(new, want, "down")
    return s.scale(new, rm.new_rs_replicas(s.d, all_rss, new), "up")


def _reconcile_old(s: _Sync, all_rss: list[RS], old: list[RS], new: RS) -> bool:
    if rm.spec_total(old) == 0:
        return False
    min_available = rm.replicas(s.d) - rm.max_unavailable(s.d)
    new_unavailable = rm.rs_replicas(new) - _available(new)
    max_scaled_down = rm.spec_total(all_rss) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return False
    cleaned = _cleanup_unhealthy(s, old, max_scaled_down)
    scaled = _scale_down_old(s, [*old, new], old)
    return cleaned + scaled > 0


def _cleanup_unhealthy(s: _Sync, old: list[RS], limit: int) -> int:
    total = 0
    for rs in sorted(old, key=revision.by_creation):
        if total >= limit:
            break
        size = rm.rs_replicas(rs)
        if size == 0 or size == _available(rs):
            continue
        count = min(limit - total, size - _available(rs))
        s.scale(rs, size - count)
        total += count
    return total


def _scale_down_old(s: _Sync, all_rss: list[RS], old: list[RS]) -> int:
    min_available = rm.replicas(s.d) - rm.max_unavailable(s.d)
    available = rm.status_total(all_rss, "availableReplicas")
    if available <= min_available:
        return 0
    wanted, total = available - min_available, 0
    for rs in sorted(old, key=revision.by_creation):
        if total >= wanted:
            break
        if rm.rs_replicas(rs) == 0:
            continue
        count = min(rm.rs_replicas(rs), wanted - total)
        s.scale(rs, rm.rs_replicas(rs) - count)
        total += count
    return total


def _old_pods_running(new: RS | None, old: list[RS], pods: Mapping[str, Sequence[Mapping[str, Any]]]) -> bool:
    if rm.status_total(old, "replicas") > 0:
        return True
    # Only this Deployment's old sets count: ``pods`` holds every owner's pods in the namespace.
    for rs in old:
        owned = pods.get(rs["metadata"].get("uid", ""), ())
        if any((p.get("status") or {}).get("phase") not in ("Failed", "Succeeded") for p in owned):
            return True
    return False


def recreate(s: _Sync, pods: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    new, old = s.sync_revision(create=False)
    scaled = False
    for rs in old:
        if rm.rs_replicas(rs) > 0:
            scaled = s.scale(rs, 0, "down") or scaled
    if scaled or _old_pods_running(new, old, pods):
        _finish_rollout(s, new, old)
        return
    if new is None:
        new, old = s.sync_revision(create=True)
    assert new is not None
    s.scale(new, rm.replicas(s.d))
    if progress.complete(s.d, s.d["status"]):
        cleanup(s, old)
    _finish_rollout(s, new, old)


def cleanup(s: _Sync, old: list[RS]) -> None:
    """``cleanupDeployment``: delete the oldest revisions past revisionHistoryLimit."""
    limit = s.d["spec"].get("revisionHistoryLimit", 10)
    if limit is None:
        return
    alive = [rs for rs in old if not rs["metadata"].get("deletionTimestamp")]
    excess = len(alive) - limit
    if excess <= 0:
        return
    alive.sort(key=revision.by_creation)
    alive.sort(key=revision.revision_of)
    for rs in alive[:excess]:
        status = rs.get("status") or {}
        if status.get("replicas") or rm.rs_replicas(rs) or \
                rs["metadata"].get("generation", 0) > status.get("observedGeneration", 0):
            continue
        s.deletes.append(actions.Delete("replicasets", s.ns, rs["metadata"]["name"], uid=rs["metadata"].get("uid")))
