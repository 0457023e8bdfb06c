"""Deployment and ReplicaSet plans driving each other over a shared in-memory store."""

import copy
from typing import Any

from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.controllers import actions, replicaset
from pyk8s.controllers.deployment import plan as deployment_plan
from tests.unit.controllers.deployment_world import deployment
from tests.unit.controllers.factories import NOW


class Cluster:
    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d
        self.rss: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, dict[str, Any]] = {}
        self.serial = 0

    def uid(self) -> str:
        self.serial += 1
        return f"u{self.serial}"

    def step(self) -> None:
        for act in deployment_plan(self.d, list(self.rss.values()), list(self.pods.values()), NOW).actions:
            if isinstance(act, actions.Create):
                body = copy.deepcopy(act.body)
                body["metadata"].update(uid=self.uid(), generation=1, creationTimestamp=timestamps.format_time(NOW))
                self.rss[body["metadata"]["name"]] = body
            elif isinstance(act, actions.Update) and act.resource == "replicasets":
                self.rss[act.body["metadata"]["name"]] = copy.deepcopy(act.body)
            elif isinstance(act, actions.Update):
                self.d["status"] = act.body["status"]
            elif isinstance(act, actions.Delete):
                del self.rss[act.name]
        for rs in list(self.rss.values()):
            result = replicaset.plan(rs, list(self.pods.values()), NOW)
            for _ in range(result.create):
                pod = copy.deepcopy(result.pod)
                uid = self.uid()
                pod["metadata"].update(name=pod["metadata"]["generateName"] + uid, uid=uid,
                                       creationTimestamp=timestamps.format_time(NOW))
                pod["spec"]["nodeName"] = "n1"
                pod["status"] = {"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": timestamps.format_time(NOW)}]}
                self.pods[pod["metadata"]["name"]] = pod
            for victim in result.delete:
                del self.pods[victim["metadata"]["name"]]
            after = replicaset.plan(rs, list(self.pods.values()), NOW)
            rs["status"] = after.status


def test_rollout_through_replicasets_replaces_every_pod():
    cluster = Cluster(deployment(5))
    for _ in range(6):
        cluster.step()
    assert len(cluster.pods) == 5
    first_hash = {p["metadata"]["labels"]["pod-template-hash"] for p in cluster.pods.values()}
    assert len(first_hash) == 1
    cluster.d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    cluster.d["metadata"]["generation"] = 2
    for _ in range(20):
        cluster.step()
        assert 5 - 1 <= len(cluster.pods) <= 5 + 2  # 25% of 5: unavailable rounds to 1, surge to 2
    hashes = {p["metadata"]["labels"]["pod-template-hash"] for p in cluster.pods.values()}
    assert len(cluster.pods) == 5 and len(hashes) == 1 and hashes != first_hash
    assert all(p["spec"]["containers"][0]["image"] == "nginx:2" for p in cluster.pods.values())
    status = cluster.d["status"]
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (5, 5, 5)
    assert status["observedGeneration"] == 2
