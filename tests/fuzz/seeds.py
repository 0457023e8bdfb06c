"""Minimal valid objects per kind (apiVersion and kind are filled in by the caller).

Fuzzed bodies start from these often enough to get past validation to the code
behind it (storage, printers, strategies).  A kind without a seed is fuzzed
from its schema alone.
"""

from __future__ import annotations

import copy
from typing import Any

_POD_SPEC: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox:1.36"}]}
_LABELS = {"app": "fz"}
_TEMPLATE = {"metadata": {"labels": _LABELS}, "spec": _POD_SPEC}

SEEDS: dict[str, dict[str, Any]] = {
    "ConfigMap": {"data": {"k": "v"}},
    "Secret": {"stringData": {"k": "v"}, "type": "Opaque"},
    "ServiceAccount": {},
    "Namespace": {},
    "Service": {"spec": {"selector": _LABELS, "ports": [{"port": 80, "targetPort": 8080}]}},
    "Pod": {"spec": _POD_SPEC},
    "PodTemplate": {"template": _TEMPLATE},
    "Endpoints": {"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]},
    "Event": {"involvedObject": {"kind": "Pod", "name": "fz-a", "namespace": "fuzz"}, "reason": "Fuzz",
              "message": "m", "type": "Normal"},
    "LimitRange": {"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}},
    "ResourceQuota": {"spec": {"hard": {"pods": "10"}}},
    "PersistentVolumeClaim": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
    "PersistentVolume": {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                  "hostPath": {"path": "/tmp/fz"}}},
    "Node": {"spec": {}},
    "ReplicationController": {"spec": {"replicas": 1, "selector": _LABELS, "template": _TEMPLATE}},
    "Binding": {"target": {"kind": "Node", "name": "fz-a"}},
    "Deployment": {"spec": {"replicas": 1, "selector": {"matchLabels": _LABELS}, "template": _TEMPLATE}},
    "ReplicaSet": {"spec": {"replicas": 1, "selector": {"matchLabels": _LABELS}, "template": _TEMPLATE}},
    "StatefulSet": {"spec": {"replicas": 1, "serviceName": "fz", "selector": {"matchLabels": _LABELS},
                             "template": _TEMPLATE}},
    "DaemonSet": {"spec": {"selector": {"matchLabels": _LABELS}, "template": _TEMPLATE}},
    "ControllerRevision": {"revision": 1, "data": {"k": "v"}},
    "Job": {"spec": {"template": {"metadata": {}, "spec": {**_POD_SPEC, "restartPolicy": "Never"}}}},
    "CronJob": {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {
        "spec": {**_POD_SPEC, "restartPolicy": "OnFailure"}}}}}},
    "Scale": {"spec": {"replicas": 1}},
    "DeleteOptions": {"propagationPolicy": "Background"},
}


def seed(kind: str, api_version: str, name: str, namespace: str | None) -> dict[str, Any] | None:
    """A fresh copy of ``kind``'s seed named ``name`` (None if the kind has no seed)."""
    if kind not in SEEDS:
        return None
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}
    if kind == "DeleteOptions":
        obj.pop("metadata")
    elif namespace is not None:
        obj["metadata"]["namespace"] = namespace
    obj.update(copy.deepcopy(SEEDS[kind]))
    return obj
