"""Plain-dict builders for controller unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pyk8s.api.core_v1.helpers import timestamps

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return timestamps.format_time(NOW - timedelta(seconds=seconds_ago))


def pod(name: str, *, labels: dict[str, str] | None = None, owner: dict[str, Any] | None = None,
        phase: str = "Running", ready_since: float | None = None, node: str = "n1", created: float = 100,
        restarts: int = 0, uid: str | None = None, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "uid": uid or f"uid-{name}",
                            "labels": labels if labels is not None else {"app": "web"},
                            "creationTimestamp": ts(created)}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner.get("kind", "ReplicaSet"),
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                    "controller": True}]
    if deleting:
        meta["deletionTimestamp"] = ts(1)
    status: dict[str, Any] = {"phase": phase, "containerStatuses": [{"name": "c", "restartCount": restarts}]}
    if ready_since is not None:
        status["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": ts(ready_since)}]
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}, "status": status}


def replicaset(name: str = "web", replicas: int = 3, *, min_ready: int = 0, generation: int = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "generation": generation},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}},
            "status": {}}
