"""Pod readiness as upstream's ``pkg/api/v1/pod`` reads it.

* ``get_condition`` — a condition of a pod's status by type (None: absent);
* ``is_pod_ready`` — the ``Ready`` condition exists with status ``True``;
* ``ready_since`` — when a ready pod became ready (its Ready lastTransitionTime);
* ``is_pod_available`` — ready, and for ``minReadySeconds`` 0 at once, else
  ready strictly longer than that before ``now`` (``IsPodAvailable``).

Condition types a kubelet owns are listed in ``KUBELET_CONDITIONS``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from pyk8s.api.core_v1.helpers import timestamps

Obj = Mapping[str, Any]

POD_READY = "Ready"
CONTAINERS_READY = "ContainersReady"
INITIALIZED = "Initialized"
POD_SCHEDULED = "PodScheduled"
READY_TO_START_CONTAINERS = "PodReadyToStartContainers"
#: The pod conditions the kubelet computes; any other (readiness gates, DisruptionTarget) is someone else's.
KUBELET_CONDITIONS = (READY_TO_START_CONTAINERS, INITIALIZED, POD_READY, CONTAINERS_READY, POD_SCHEDULED)


def get_condition(pod: Obj, kind: str) -> Obj | None:
    """The condition of type ``kind`` in the pod's status (None when absent)."""
    for cond in (pod.get("status") or {}).get("conditions") or ():
        if cond.get("type") == kind:
            found: Obj = cond
            return found
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = get_condition(pod, POD_READY)
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: Obj) -> datetime.datetime | None:
    """When the pod became ready (None: not ready, or no transition time)."""
    cond = get_condition(pod, POD_READY)
    if cond is None or cond.get("status") != "True":
        return None
    return timestamps.parse_time(cond.get("lastTransitionTime"))


def is_pod_available(pod: Obj, min_ready_seconds: int, now: datetime.datetime) -> bool:
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds == 0:
        return True
    since = ready_since(pod)
    return since is not None and since + datetime.timedelta(seconds=min_ready_seconds) < now
