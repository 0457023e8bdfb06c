"""Which ReplicaSet is the Deployment's "new" one, and the revision annotations.

Follows ``deployment/util/deployment_util.go``:

* the new ReplicaSet is the oldest owned one whose pod template equals the
  Deployment's, ignoring the ``pod-template-hash`` label (``EqualIgnoreHash``,
  with nil and empty maps/lists equal as in ``equality.Semantic``); all other
  owned sets are old.  A rollback (``kubectl rollout undo``) patches the old
  template back, so the old set simply becomes "new" again.
* the new set gets ``deployment.kubernetes.io/revision`` = max old revision
  + 1; if it already had a lower revision (a rollback), that one is appended
  to ``deployment.kubernetes.io/revision-history`` (kept under 2000 chars).
* the Deployment's own annotations (e.g. ``kubernetes.io/change-cause``) are
  copied onto the set, except kubectl's last-applied and the controller's.
* ``desired-replicas`` / ``max-replicas`` record the Deployment's size and
  size + surge, for proportional scaling.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.controllers.podtemplate import POD_TEMPLATE_HASH_LABEL

Obj = Mapping[str, Any]
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_HISTORY_CHARS = 2000
_SKIP_COPY = {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS}


def _prune(value: Any) -> Any:
    if isinstance(value, Mapping):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def equal_ignore_hash(t1: Obj | None, t2: Obj | None) -> bool:
    """``EqualIgnoreHash`` for two pod templates."""
    a, b = copy.deepcopy(dict(t1 or {})), copy.deepcopy(dict(t2 or {}))
    for t in (a, b):
        (t.get("metadata") or {}).get("labels", {}).pop(POD_TEMPLATE_HASH_LABEL, None)
    return _prune(a) == _prune(b)


def annotations_of(obj: Obj) -> Mapping[str, str]:
    return obj.get("metadata", {}).get("annotations") or {}


def int_annotation(obj: Obj, key: str) -> int | None:
    try:
        return int(annotations_of(obj)[key])
    except (KeyError, ValueError):
        return None


def revision_of(rs: Obj) -> int:
    return int_annotation(rs, REVISION) or 0


def max_revision(rss: Sequence[Obj]) -> int:
    return max((revision_of(rs) for rs in rss), default=0)


def _created_cmp(a: Obj, b: Obj) -> int:
    ta = timestamps.parse_time(a.get("metadata", {}).get("creationTimestamp"))
    tb = timestamps.parse_time(b.get("metadata", {}).get("creationTimestamp"))
    if ta == tb:
        na, nb = a.get("metadata", {}).get("name", ""), b.get("metadata", {}).get("name", "")
        return (na > nb) - (na < nb)
    if ta is None or tb is None:
        return -1 if ta is None else 1
    return -1 if ta < tb else 1


by_creation = functools.cmp_to_key(_created_cmp)
"""Sort key: older first, then by name (``ReplicaSetsByCreationTimestamp``)."""


def find_new(d: Obj, rss: Sequence[Obj]) -> Obj | None:
    """``FindNewReplicaSet``."""
    template = d.get("spec", {}).get("template")
    for rs in sorted(rss, key=by_creation):
        if equal_ignore_hash(rs.get("spec", {}).get("template"), template):
            return rs
    return None


def find_old(rss: Sequence[Obj], new_rs: Obj | None) -> list[Obj]:
    """All owned sets but the new one (``FindOldReplicaSets``' second result)."""
    new_uid = None if new_rs is None else new_rs.get("metadata", {}).get("uid")
    return [rs for rs in rss if new_rs is None or rs is not new_rs and rs.get("metadata", {}).get("uid") != new_uid]


def _meta_annotations(obj: MutableMapping[str, Any]) -> dict[str, str]:
    meta = obj.setdefault("metadata", {})
    if meta.get("annotations") is None:
        meta["annotations"] = {}
    return meta["annotations"]


def copy_deployment_annotations(d: Obj, rs: MutableMapping[str, Any]) -> bool:
    changed = False
    target = _meta_annotations(rs)
    for key, value in annotations_of(d).items():
        if key in _SKIP_COPY or target.get(key) == value:
            continue
        target[key] = value
        changed = True
    return changed


def set_replicas_annotations(rs: MutableMapping[str, Any], desired: int, maximum: int) -> bool:
    target = _meta_annotations(rs)
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if target.get(key) != value:
            target[key] = value
            changed = True
    return changed


def _append_history(target: dict[str, str], old: str) -> None:
    history = target.get(REVISION_HISTORY, "")
    if not history:
        target[REVISION_HISTORY] = old
        return
    parts = history.split(",")
    total, start = len(history) + len(old) + 1, 0
    while total > MAX_HISTORY_CHARS and start < len(parts):
        total -= len(parts[start]) + 1
        start += 1
    if total <= MAX_HISTORY_CHARS:
        target[REVISION_HISTORY] = ",".join([*parts[start:], old])


def set_new_rs_annotations(d: Obj, rs: MutableMapping[str, Any], new_revision: int, *, exists: bool,
                           max_surge: int) -> bool:
    """``SetNewReplicaSetAnnotations``; True when something changed."""
    changed = copy_deployment_annotations(d, rs)
    target = _meta_annotations(rs)
    had = REVISION in target
    old_text = target.get(REVISION, "")
    try:
        old = int(old_text) if old_text else 0
    except ValueError:
        return False
    if old < new_revision:
        target[REVISION] = str(new_revision)
        changed = True
        if had:
            _append_history(target, old_text)
    desired = int(d.get("spec", {}).get("replicas", 1) or 0)
    if not exists and set_replicas_annotations(rs, desired, desired + max_surge):
        changed = True
    return changed
