"""Generic ephemeral volumes (upstream's ``component-helpers/storage/ephemeral``).

A pod volume ``{name: v, ephemeral: {volumeClaimTemplate: ...}}`` stands for
the PersistentVolumeClaim ``<pod name>-<v>`` in the pod's namespace, which the
ephemeral-volume controller creates with the pod as its controller owner.  A
claim of that name that the pod does not own is never used for it: the
scheduler, the controller and the kubelet all refuse it with the same words.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Obj = dict[str, Any]


def claim_name(pod: Mapping[str, Any], volume: Mapping[str, Any]) -> str:
    """The claim an ephemeral volume stands for (``VolumeClaimName``)."""
    return f"{(pod.get('metadata') or {}).get('name', '')}-{volume.get('name', '')}"


def ephemeral_volumes(pod: Mapping[str, Any]) -> Iterator[Obj]:
    for volume in (pod.get("spec") or {}).get("volumes") or ():
        if volume.get("ephemeral") is not None:
            yield volume


def owned_by(pod: Mapping[str, Any], claim: Mapping[str, Any]) -> bool:
    """Whether ``claim`` has ``pod`` as its controller (an owner reference with ``controller: true``)."""
    uid = (pod.get("metadata") or {}).get("uid")
    return any(ref.get("controller") and ref.get("uid") == uid
               for ref in (claim.get("metadata") or {}).get("ownerReferences") or ())


def not_for_pod(pod: Mapping[str, Any], claim: Mapping[str, Any]) -> str | None:
    """Why ``claim`` may not serve the pod's ephemeral volume (``VolumeIsForPod``), or None when it may."""
    if owned_by(pod, claim):
        return None
    pmeta, cmeta = pod.get("metadata") or {}, claim.get("metadata") or {}
    return (f"PVC {cmeta.get('namespace', '')}/{cmeta.get('name', '')} was not created for pod "
            f"{pmeta.get('namespace', '')}/{pmeta.get('name', '')} (pod is not owner)")


def new_claim(pod: Mapping[str, Any], volume: Mapping[str, Any]) -> Obj:
    """The claim the controller creates: the template's labels, annotations and spec, owned by the pod."""
    template = (volume.get("ephemeral") or {}).get("volumeClaimTemplate") or {}
    tmeta = template.get("metadata") or {}
    pmeta = pod.get("metadata") or {}
    meta: Obj = {"name": claim_name(pod, volume), "namespace": pmeta.get("namespace", ""),
                 "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": pmeta.get("name", ""),
                                      "uid": pmeta.get("uid", ""), "controller": True,
                                      "blockOwnerDeletion": True}]}
    if tmeta.get("labels"):
        meta["labels"] = dict(tmeta["labels"])
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
            "spec": dict(template.get("spec") or {})}
