"""A tiny in-memory world that applies deployment plans, for rollout tests."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.controllers import actions
from pyk8s.controllers.deployment import plan
from tests.unit.controllers.factories import NOW


def deployment(replicas: int = 4, image: str = "nginx:1", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "uid": "uid-d", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600, **spec},
            "status": {}}


class World:
    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d
        self.rss: dict[str, dict[str, Any]] = {}
        self.now = NOW
        self.serial = 0
        self.events: list[str] = []
        self.ready = True  # whether pods of scaled-up sets become available at once

    def sync(self):
        result = plan(self.d, list(self.rss.values()), [], self.now)
        for act in result.actions:
            self.apply(act)
        self.events += [e.message for e in result.events]
        return result

    def apply(self, act: actions.Action) -> None:
        if isinstance(act, actions.Create):
            body = copy.deepcopy(act.body)
            self.serial += 1
            body["metadata"].update(uid=f"uid-rs-{self.serial}", generation=1,
                                    creationTimestamp=timestamps.format_time(self.now + timedelta(seconds=self.serial)))
            self.rss[body["metadata"]["name"]] = body
        elif isinstance(act, actions.Update) and act.resource == "replicasets":
            self.rss[act.body["metadata"]["name"]] = copy.deepcopy(act.body)
        elif isinstance(act, actions.Update):
            self.d["status"] = copy.deepcopy(act.body["status"])
        elif isinstance(act, actions.Patch) and act.resource == "deployments":
            self.d["metadata"].setdefault("annotations", {}).update(act.patch["metadata"]["annotations"])
        elif isinstance(act, actions.Delete):
            del self.rss[act.name]

    def settle(self) -> None:
        """ReplicaSet controller + kubelet: pods appear (and are available if ``ready``)."""
        for rs in self.rss.values():
            want = rs["spec"]["replicas"]
            status = rs.setdefault("status", {})
            status["replicas"] = want
            status["observedGeneration"] = rs["metadata"]["generation"]
            if self.ready or want < status.get("availableReplicas", 0):
                status["readyReplicas"] = status["availableReplicas"] = want

    def totals(self) -> tuple[int, int]:
        spec = sum(rs["spec"]["replicas"] for rs in self.rss.values())
        avail = sum(rs.get("status", {}).get("availableReplicas", 0) for rs in self.rss.values())
        return spec, avail

    def converge(self, steps: int = 30) -> list[tuple[int, int]]:
        seen = []
        for _ in range(steps):
            self.sync()
            seen.append(self.totals())
            self.settle()
            seen.append(self.totals())
        return seen
