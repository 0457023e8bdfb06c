"""Small builders for test objects."""

from typing import Any

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.generic import GenericStore


def store(reg: Registry, group: str, plural: str) -> GenericStore:
    s = reg.store(group, plural)
    assert s is not None
    return s


def configmap(name: str = "", labels: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, **meta} if name else dict(meta)
    if labels:
        m["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": {"a": "1"}}


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def pod(name: str, node: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}
