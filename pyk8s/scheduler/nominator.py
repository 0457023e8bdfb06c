"""Pods nominated to nodes: where a preemptor waits for its victims to leave.

When preemption evicts victims for a pod, the pod is *nominated* to that
node (``status.nominatedNodeName``) and goes back to the queue.  Until it is
bound, the scheduler keeps the room free for it: filtering another pod on
that node first adds the nominated pods of equal or higher priority to the
node (see ``Framework.run_filters_with_nominated_pods``), as upstream's
``PodNominator`` does.

The scheduler records a nomination the moment it decides it (before the
status patch lands), and learns nominations made elsewhere (another replica,
a previous leader) from the pods' ``status.nominatedNodeName``.  An update
that carries no nomination on either side keeps the in-memory one: it may be
an older write racing with ours.
"""

from __future__ import annotations

from typing import Any

from pyk8s.scheduler.podinfo import PodInfo


def nominated_node_name(pod: dict[str, Any]) -> str:
    return (pod.get("status") or {}).get("nominatedNodeName") or ""


class Nominator:
    __slots__ = ("by_node", "_node_of")

    def __init__(self) -> None:
        # node name -> {pod key -> PodInfo}; empty (falsy) in the common case.
        self.by_node: dict[str, dict[str, PodInfo]] = {}
        self._node_of: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self.by_node)

    def add(self, info: PodInfo, node_name: str | None = None) -> None:
        """Nominate ``info`` to ``node_name`` (default: its status.nominatedNodeName); "" clears."""
        self.delete(info.key)
        name = nominated_node_name(info.pod) if node_name is None else node_name
        if not name or info.node_name:
            return
        self.by_node.setdefault(name, {})[info.key] = info
        self._node_of[info.key] = name

    def update(self, old: dict[str, Any], info: PodInfo) -> None:
        """A new version of an unassigned pod (upstream's updateNominatedPod)."""
        keep = None
        if not nominated_node_name(old) and not nominated_node_name(info.pod):
            keep = self._node_of.get(info.key)
        self.add(info, keep)

    def delete(self, key: str) -> None:
        name = self._node_of.pop(key, None)
        if name is None:
            return
        pods = self.by_node.get(name)
        if pods is not None:
            pods.pop(key, None)
            if not pods:
                del self.by_node[name]

    def node_of(self, key: str) -> str:
        return self._node_of.get(key, "")

    def pods_for_node(self, node_name: str) -> list[PodInfo]:
        return list((self.by_node.get(node_name) or {}).values())
