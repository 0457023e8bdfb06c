"""Pods made from a controller's template, and the ownership that ties them back.

Follows ``pkg/controller/controller_utils.go`` upstream:

* ``compute_hash`` is ``ComputeHash``: an FNV-32a hash of the template, then of
  the collision count (4 little-endian bytes padded to 8, as upstream writes a
  uint32 into an 8-byte buffer), printed in decimal and re-encoded with the
  ``SafeEncodeString`` alphabet ``bcdfghjklmnpqrstvwxz2456789`` so it never
  spells words.  *Difference from upstream:* Go hashes the spew dump of the
  typed ``PodTemplateSpec`` struct (``DeepHashObject``), which depends on Go's
  field order and zero values; a Python dict cannot reproduce that byte
  stream, so we hash the canonical JSON of the template (sorted keys, no
  whitespace).  The hash is therefore stable and has the same shape (an up to
  10-character string from the same alphabet) but is not equal to the value
  kube-controller-manager would compute for the same template.
* ``controller_ref`` / ``controller_of`` are ``NewControllerRef`` /
  ``GetControllerOf``: exactly one ownerReference has ``controller: true``.
* ``pod_from_template`` is ``GetPodFromTemplate``: labels, annotations and
  finalizers copied from the template, ``generateName: <owner>-`` (the API
  server appends five random characters), the controllerRef, and the spec.
* ``adoption_patch`` / ``release_patch`` are the strategic-merge patches the
  ``PodControllerRefManager`` sends to adopt or orphan an object.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import orjson

from pyk8s.api import names

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
POD_TEMPLATE_HASH_LABEL = "pod-template-hash"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes, state: int = _FNV_OFFSET) -> int:
    """FNV-1a, 32 bits, continuing from ``state`` (so writes can be chained)."""
    for byte in data:
        state = ((state ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return state


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: each byte mapped into the vowel-free alphabet."""
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in text.encode())


def compute_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """The pod-template-hash of ``template`` (see the module docstring for parity)."""
    state = fnv32a(orjson.dumps(template, option=orjson.OPT_SORT_KEYS))
    if collision_count is not None:
        state = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + b"\0" * 4, state)
    return safe_encode(str(state))


def controller_ref(owner: Mapping[str, Any], *, api_version: str, kind: str) -> dict[str, Any]:
    """``NewControllerRef``: the ownerReference a controller puts on what it makes."""
    meta = owner.get("metadata", {})
    return {"apiVersion": api_version, "kind": kind, "name": meta.get("name", ""), "uid": meta.get("uid", ""),
            "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """``GetControllerOf``: the ownerReference marked ``controller: true``, if any."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == owner.get("metadata", {}).get("uid")


def _name_prefix(owner_name: str) -> str:
    # Upstream validates "<name>-" as a generateName prefix and falls back to the bare name.
    prefix = f"{owner_name}-"
    return prefix if not names.is_dns1123_subdomain(prefix[:-1] + "a") else owner_name


def pod_from_template(template: Mapping[str, Any], owner: Mapping[str, Any], ref: Mapping[str, Any] | None) -> dict[str, Any]:
    """``GetPodFromTemplate``: a Pod body ready for POST in the owner's namespace."""
    tmeta = template.get("metadata") or {}
    meta: dict[str, Any] = {"generateName": _name_prefix(owner.get("metadata", {}).get("name", ""))}
    namespace = owner.get("metadata", {}).get("namespace")
    if namespace:
        meta["namespace"] = namespace
    for field in ("labels", "annotations"):
        if tmeta.get(field):
            meta[field] = dict(tmeta[field])
    if tmeta.get("finalizers"):
        meta["finalizers"] = list(tmeta["finalizers"])
    if ref is not None:
        meta["ownerReferences"] = [dict(ref)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(template.get("spec") or {})}


def adoption_patch(obj: Mapping[str, Any], ref: Mapping[str, Any]) -> dict[str, Any]:
    """Strategic-merge patch adding ``ref`` (guarded by the object's UID)."""
    return {"metadata": {"ownerReferences": [dict(ref)], "uid": obj.get("metadata", {}).get("uid", "")}}


def release_patch(obj: Mapping[str, Any], owner_uid: str) -> dict[str, Any]:
    """Strategic-merge patch removing the owner's reference (``$patch: delete``)."""
    return {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}],
                         "uid": obj.get("metadata", {}).get("uid", "")}}
