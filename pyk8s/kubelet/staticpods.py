"""Static pods: pods the kubelet runs from manifest files, shown in the API as mirror pods.

Upstream's file source and mirror client, in short:

* every ``*.yaml``, ``*.yml`` and ``*.json`` file of ``--pod-manifest-path``
  holds one Pod (or a v1 List of them); it is read at start and every
  ``CHECK_PERIOD`` (upstream's 20 s);
* the pod is named ``<name>-<node>``, in its namespace (``default`` if
  none), bound to the node, tolerates every NoExecute taint, and its UID is
  a hash of the manifest and the node name, so an edited manifest is a new
  pod (the old one is killed, the new one started);
* annotations ``kubernetes.io/config.hash`` (the UID),
  ``kubernetes.io/config.source: file`` and ``kubernetes.io/config.seen``;
* its mirror pod in the API is the same pod plus
  ``kubernetes.io/config.mirror: <hash>`` and an owner reference to the
  Node.  The kubelet runs the static pod from its file, never from the
  mirror: deleting the mirror pod only makes the kubelet create it again;
  removing the file stops the pod and deletes its mirror.

A manifest that does not parse is logged and skipped; the others still run.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import orjson
import yaml

from pyk8s.api.core_v1.helpers.timestamps import format_time
from pyk8s.util.clock import REAL_CLOCK, Clock

log = logging.getLogger(__name__)
Obj = dict[str, Any]

CHECK_PERIOD = 20.0
HASH = "kubernetes.io/config.hash"
MIRROR = "kubernetes.io/config.mirror"
SOURCE = "kubernetes.io/config.source"
SEEN = "kubernetes.io/config.seen"
SUFFIXES = (".yaml", ".yml", ".json")


def is_mirror(pod: Mapping[str, Any]) -> bool:
    return MIRROR in ((pod.get("metadata") or {}).get("annotations") or {})


def static_pod(manifest: Mapping[str, Any], node_name: str, seen: str) -> Obj:
    pod = copy.deepcopy(dict(manifest))
    meta = pod.setdefault("metadata", {})
    digest = hashlib.md5(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS) + node_name.encode(),
                         usedforsecurity=False).hexdigest()
    meta["name"] = f"{meta.get('name', '')}-{node_name}"
    meta["namespace"] = meta.get("namespace") or "default"
    meta["uid"] = digest
    meta["annotations"] = {**(meta.get("annotations") or {}), HASH: digest, SOURCE: "file", SEEN: seen}
    pod.setdefault("apiVersion", "v1")
    pod.setdefault("kind", "Pod")
    spec = pod.setdefault("spec", {})
    spec["nodeName"] = node_name
    spec["tolerations"] = [*(spec.get("tolerations") or []), {"operator": "Exists", "effect": "NoExecute"}]
    pod["status"] = {}
    return pod


def mirror_of(pod: Mapping[str, Any], node_uid: str) -> Obj:
    """The mirror pod to create in the API for a static pod."""
    mirror = copy.deepcopy(dict(pod))
    meta = mirror["metadata"]
    meta.pop("uid", None)
    meta["annotations"] = {**meta["annotations"], MIRROR: meta["annotations"][HASH]}
    if node_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": mirror["spec"]["nodeName"],
                                    "uid": node_uid, "controller": True}]
    mirror.pop("status", None)
    return mirror


def mirror_matches(mirror: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    annotations = (mirror.get("metadata") or {}).get("annotations") or {}
    return annotations.get(MIRROR) == (pod.get("metadata") or {}).get("uid")


def _manifests(path: pathlib.Path) -> list[Obj]:
    docs: list[Obj] = []
    for file in sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and not p.name.startswith(".")):
        try:
            loaded = yaml.safe_load(file.read_text())
        except (OSError, yaml.YAMLError) as exc:
            log.warning("static pod manifest %s: %s", file, exc)
            continue
        items = loaded.get("items") if isinstance(loaded, dict) and loaded.get("kind") == "List" else [loaded]
        for item in items or []:
            if isinstance(item, dict) and item.get("kind", "Pod") == "Pod" and (item.get("metadata") or {}).get("name"):
                docs.append(item)
            else:
                log.warning("static pod manifest %s: not a named Pod", file)
    return docs


class StaticPods:
    """The static pods of one manifest directory, by ``namespace/name`` key."""

    def __init__(self, path: pathlib.Path, node_name: str, on_change: Callable[[str], None], *,
                 clock: Clock = REAL_CLOCK, period: float = CHECK_PERIOD) -> None:
        self.path, self.node_name, self.on_change, self.clock, self.period = path, node_name, on_change, clock, period
        self.pods: dict[str, Obj] = {}

    def get(self, key: str) -> Obj | None:
        return self.pods.get(key)

    def refresh(self) -> None:
        """Read the directory; queue every pod that appeared, changed or disappeared."""
        seen = format_time(self.clock.now())
        fresh: dict[str, Obj] = {}
        if self.path.is_dir():
            for manifest in _manifests(self.path):
                pod = static_pod(manifest, self.node_name, seen)
                key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
                old = self.pods.get(key)
                fresh[key] = old if old is not None and old["metadata"]["uid"] == pod["metadata"]["uid"] else pod
        changed = [k for k in fresh.keys() | self.pods.keys() if fresh.get(k) is not self.pods.get(k)]
        self.pods = fresh
        for key in changed:
            self.on_change(key)

    async def run(self) -> None:
        while True:
            self.refresh()
            await self.clock.sleep(self.period)
