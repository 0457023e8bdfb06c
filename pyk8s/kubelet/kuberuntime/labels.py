"""Labels and annotations the kubelet puts on sandboxes and containers, and reads back.

The runtime is the kubelet's only memory of what it started (a restarted
kubelet adopts containers from these), so everything ``get_pod_status`` and
``kill_pod`` need is stored here, under upstream's keys:

* sandbox labels: the pod's labels plus ``io.kubernetes.pod.{name,namespace,uid}``;
  sandbox annotations: the pod's annotations;
* container labels: ``io.kubernetes.container.name`` and the pod's three;
* container annotations: the spec hash, restart count, termination message
  path and policy, the grace periods, the preStop handler and ports (JSON).

The hash covers only the container's name and image, as upstream's
``HashContainer`` since 1.31 (the only fields a pod update may change), so a
kubelet upgrade restarts nothing.  It is FNV-32a over the JSON, in hex.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pyk8s.kubelet.runtime.interface import RESTART_COUNT_ANNOTATION

Obj = dict[str, Any]

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
CONTAINER_HASH = "io.kubernetes.container.hash"
RESTART_COUNT = RESTART_COUNT_ANNOTATION
TERMINATION_MESSAGE_PATH = "io.kubernetes.container.terminationMessagePath"
TERMINATION_MESSAGE_POLICY = "io.kubernetes.container.terminationMessagePolicy"
POD_DELETION_GRACE = "io.kubernetes.pod.deletionGracePeriod"
POD_TERMINATION_GRACE = "io.kubernetes.pod.terminationGracePeriod"
PRESTOP_HANDLER = "io.kubernetes.container.preStopHandler"
CONTAINER_PORTS = "io.kubernetes.container.ports"


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def container_hash(container: Obj) -> str:
    picked = {"image": container.get("image", ""), "name": container.get("name", "")}
    return format(fnv32a(json.dumps(picked, separators=(",", ":")).encode()), "x")


def _meta(pod: Obj) -> Obj:
    return pod.get("metadata") or {}


def pod_labels(pod: Obj) -> dict[str, str]:
    meta = _meta(pod)
    return {POD_NAME: meta.get("name", ""), POD_NAMESPACE: meta.get("namespace", ""), POD_UID: meta.get("uid", "")}


def sandbox_labels(pod: Obj) -> dict[str, str]:
    return {**(_meta(pod).get("labels") or {}), **pod_labels(pod)}


def sandbox_annotations(pod: Obj) -> dict[str, str]:
    return dict(_meta(pod).get("annotations") or {})


def container_labels(pod: Obj, container: Obj) -> dict[str, str]:
    return {**pod_labels(pod), CONTAINER_NAME: container.get("name", "")}


def container_annotations(pod: Obj, container: Obj, restart_count: int) -> dict[str, str]:
    spec = pod.get("spec") or {}
    out = {
        CONTAINER_HASH: container_hash(container),
        RESTART_COUNT: str(restart_count),
        TERMINATION_MESSAGE_PATH: container.get("terminationMessagePath", "/dev/termination-log"),
        TERMINATION_MESSAGE_POLICY: container.get("terminationMessagePolicy", "File"),
    }
    if _meta(pod).get("deletionGracePeriodSeconds") is not None:
        out[POD_DELETION_GRACE] = str(_meta(pod)["deletionGracePeriodSeconds"])
    if spec.get("terminationGracePeriodSeconds") is not None:
        out[POD_TERMINATION_GRACE] = str(spec["terminationGracePeriodSeconds"])
    pre_stop = (container.get("lifecycle") or {}).get("preStop")
    if pre_stop:
        out[PRESTOP_HANDLER] = json.dumps(pre_stop, separators=(",", ":"))
    if container.get("ports"):
        out[CONTAINER_PORTS] = json.dumps(container["ports"], separators=(",", ":"))
    return out


@dataclass
class ContainerInfo:
    """What a container's labels and annotations say about it."""

    name: str
    pod_name: str
    pod_namespace: str
    pod_uid: str
    hash: str
    restart_count: int
    termination_message_path: str
    termination_message_policy: str
    termination_grace: int | None
    pre_stop: Obj | None


def container_info(labels: dict[str, str], annotations: dict[str, str]) -> ContainerInfo:
    def as_int(key: str) -> int | None:
        try:
            return int(annotations[key])
        except (KeyError, ValueError):
            return None

    pre_stop = None
    if annotations.get(PRESTOP_HANDLER):
        try:
            pre_stop = json.loads(annotations[PRESTOP_HANDLER])
        except ValueError:
            pre_stop = None
    grace = as_int(POD_DELETION_GRACE)
    return ContainerInfo(
        name=labels.get(CONTAINER_NAME, ""), pod_name=labels.get(POD_NAME, ""),
        pod_namespace=labels.get(POD_NAMESPACE, ""), pod_uid=labels.get(POD_UID, ""),
        hash=annotations.get(CONTAINER_HASH, ""), restart_count=as_int(RESTART_COUNT) or 0,
        termination_message_path=annotations.get(TERMINATION_MESSAGE_PATH, ""),
        termination_message_policy=annotations.get(TERMINATION_MESSAGE_POLICY, ""),
        termination_grace=grace if grace is not None else as_int(POD_TERMINATION_GRACE),
        pre_stop=pre_stop,
    )
