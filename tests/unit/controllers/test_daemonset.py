import copy
from typing import Any

import pytest

from pyk8s.api.core_v1.helpers.nodeaffinity import pod_matches_node
from pyk8s.controllers import actions, daemonset
from tests.unit.controllers.factories import NOW, ts


def make_ds(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "kube-system", "uid": "uid-ds", "generation": 1,
                         "annotations": {daemonset.GENERATION_ANNOTATION: "1"}},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "c", "image": "agent:1"}]}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                     **spec},
            "status": {}}


def node(name: str, *, labels: dict[str, str] | None = None, taints: list[dict[str, str]] | None = None) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


class World:
    def __init__(self, ds: dict[str, Any], nodes: list[dict[str, Any]]) -> None:
        self.ds, self.nodes = ds, nodes
        self.pods: dict[str, dict[str, Any]] = {}
        self.serial = 0

    def sync(self) -> daemonset.DaemonSetPlan:
        result = daemonset.plan(self.ds, self.nodes, list(self.pods.values()), NOW)
        for act in result.actions:
            if isinstance(act, actions.Delete):
                del self.pods[act.name]
            elif isinstance(act, actions.Update):
                self.ds["status"] = act.body["status"]
        for body in result.create:
            self.serial += 1
            pod = copy.deepcopy(body)
            pod["metadata"].update(name=f"agent-{self.serial}", uid=f"u{self.serial}", creationTimestamp=ts(-self.serial))
            pod["spec"]["nodeName"] = daemonset.target_node(pod)  # the scheduler binds it
            pod["status"] = {"phase": "Pending"}
            self.pods[pod["metadata"]["name"]] = pod
        return result

    def settle(self) -> None:
        for pod in self.pods.values():
            pod["status"] = {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": ts(100)}]}

    def on(self, node_name: str) -> list[dict[str, Any]]:
        return [p for p in self.pods.values() if p["spec"]["nodeName"] == node_name]


def test_one_pod_per_eligible_node_pinned_by_affinity():
    w = World(make_ds(), [node("a"), node("b")])
    result = w.sync()
    assert sorted(result.create_on) == ["a", "b"]
    pod = result.create[0]
    assert "nodeName" not in pod["spec"]
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [result.create_on[0]]}]}]
    assert pod["metadata"]["labels"][daemonset.REVISION_LABEL] == result.hash
    assert pod["metadata"]["labels"][daemonset.GENERATION_LABEL] == "1"
    keys = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert ("node.kubernetes.io/not-ready", "NoExecute") in keys
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in keys
    assert ("node.kubernetes.io/network-unavailable", "NoSchedule") not in keys
    assert all("tolerationSeconds" not in t for t in pod["spec"]["tolerations"])
    w.settle()
    w.sync()
    assert w.ds["status"]["desiredNumberScheduled"] == 2 and w.ds["status"]["numberAvailable"] == 2
    assert "numberUnavailable" not in w.ds["status"]


def test_host_network_gets_network_unavailable_toleration():
    spec: dict[str, Any] = {"hostNetwork": True}
    daemonset.with_default_tolerations(spec)
    assert {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]


def test_node_selector_affinity_and_taints():
    ds = make_ds()
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    assert daemonset.should_run(ds, node("a", labels={"disk": "ssd"})) == (True, True)
    assert daemonset.should_run(ds, node("b")) == (False, False)
    plain = make_ds()
    no_sched = node("c", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    assert daemonset.should_run(plain, no_sched) == (False, True)  # existing pods stay
    no_exec = node("d", taints=[{"key": "dedicated", "effect": "NoExecute"}])
    assert daemonset.should_run(plain, no_exec) == (False, False)
    not_ready = node("e", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}])
    assert daemonset.should_run(plain, not_ready) == (True, True)  # default toleration
    plain["spec"]["template"]["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    assert daemonset.should_run(plain, no_exec) == (True, True)


def test_misscheduled_and_failed_pods_are_deleted():
    w = World(make_ds(), [node("a"), node("b")])
    w.sync()
    w.settle()
    w.nodes[1] = node("b", taints=[{"key": "x", "effect": "NoExecute"}])
    victim = w.on("a")[0]
    victim["status"]["phase"] = "Failed"
    result = w.sync()
    assert not w.on("b")
    assert any(e.reason == "FailedDaemonPod" for e in result.events)
    assert result.create_on == []  # the replacement comes on the next sync
    w.sync()
    assert len(w.on("a")) == 1


@pytest.mark.parametrize("max_unavailable,expected_first_wave", [(1, 1), (2, 2), ("50%", 2), ("30%", 2)])
def test_rolling_update_without_surge(max_unavailable, expected_first_wave):
    ds = make_ds(updateStrategy={"type": "RollingUpdate",
                                 "rollingUpdate": {"maxUnavailable": max_unavailable, "maxSurge": 0}})
    w = World(ds, [node(n) for n in "abcd"])
    w.sync()
    w.settle()
    w.ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    w.ds["metadata"]["annotations"][daemonset.GENERATION_ANNOTATION] = "2"
    before = len(w.pods)
    w.sync()
    assert before - len(w.pods) == expected_first_wave
    for _ in range(10):
        w.sync()
        w.settle()
    new_hash = daemonset.template_hash(w.ds)
    assert len(w.pods) == 4
    assert all(p["metadata"]["labels"][daemonset.REVISION_LABEL] == new_hash for p in w.pods.values())
    assert w.ds["status"]["updatedNumberScheduled"] == 4


def test_rolling_update_with_surge_keeps_old_until_new_available():
    ds = make_ds(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
    w = World(ds, [node("a"), node("b")])
    w.sync()
    w.settle()
    w.ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    w.ds["metadata"]["annotations"][daemonset.GENERATION_ANNOTATION] = "2"  # as the API server bumps it
    result = w.sync()
    assert len(result.create_on) == 1 and len(w.pods) == 3
    node_name = result.create_on[0]
    assert len(w.on(node_name)) == 2
    w.sync()  # new pod not available yet: the old one stays, no second surge
    assert len(w.pods) == 3
    w.settle()
    w.sync()
    assert len(w.on(node_name)) == 1
    for _ in range(6):
        w.sync()
        w.settle()
    assert len(w.pods) == 2
    assert all(daemonset.is_updated(p, daemonset.template_hash(w.ds), None) for p in w.pods.values())


def test_on_delete_waits_for_manual_deletion():
    w = World(make_ds(updateStrategy={"type": "OnDelete"}), [node("a")])
    w.sync()
    w.settle()
    w.ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    w.ds["metadata"]["annotations"][daemonset.GENERATION_ANNOTATION] = "2"
    w.sync()
    assert len(w.pods) == 1 and not daemonset.is_updated(next(iter(w.pods.values())), daemonset.template_hash(w.ds), None)


def test_duplicate_pods_keep_oldest_and_orphans_removed():
    w = World(make_ds(), [node("a")])
    w.sync()
    w.settle()
    extra = copy.deepcopy(next(iter(w.pods.values())))
    extra["metadata"].update(name="agent-dup", uid="dup", creationTimestamp=ts(-100))
    w.pods["agent-dup"] = extra
    gone = copy.deepcopy(extra)
    gone["metadata"].update(name="agent-gone", uid="gone")
    gone["spec"]["nodeName"] = "deleted-node"
    w.pods["agent-gone"] = gone
    pinned = copy.deepcopy(gone)
    pinned["metadata"].update(name="agent-pinned", uid="pinned")
    del pinned["spec"]["nodeName"]
    daemonset.pin_to_node(pinned["spec"], "deleted-node")
    w.pods["agent-pinned"] = pinned
    w.sync()
    # The unscheduled pod for a vanished node goes; the bound one is left to PodGC.
    assert set(w.pods) == {"agent-1", "agent-gone"}


def test_node_affinity_operators():
    n = node("n1", labels={"zone": "a", "cpus": "8"})
    spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]},
        {"matchExpressions": [{"key": "cpus", "operator": "Gt", "values": ["4"]},
                              {"key": "gpu", "operator": "DoesNotExist"}]}]}}}}
    assert pod_matches_node(spec, n)
    spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][1][
        "matchExpressions"][0]["values"] = ["16"]
    assert not pod_matches_node(spec, n)
    assert not pod_matches_node({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{}]}}}}, n)


def test_rolling_update_counts_a_node_without_pod_as_unavailable():
    # After the first old pod is deleted, its node is empty until the replacement shows up:
    # that node uses up maxUnavailable, so no second old pod may go yet.
    w = World(make_ds(), [node(n) for n in "abc"])
    w.sync()
    w.settle()
    w.ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    w.ds["metadata"]["annotations"][daemonset.GENERATION_ANNOTATION] = "2"
    for pod in w.on("a"):
        del w.pods[pod["metadata"]["name"]]
    result = daemonset.plan(w.ds, w.nodes, list(w.pods.values()), NOW)
    assert result.create_on == ["a"] and result.delete == []


def test_history_creates_renumbers_and_trims_revisions():
    ds = make_ds(revisionHistoryLimit=1)
    first = daemonset.history(ds, [], [])
    assert [type(a) for a in first.actions] == [actions.Create]
    rev1 = first.current
    assert rev1["metadata"]["name"] == f"agent-{daemonset.template_hash(ds)}" and rev1["revision"] == 1
    assert rev1["metadata"]["labels"] == {"app": "agent", daemonset.REVISION_LABEL: daemonset.template_hash(ds)}
    assert rev1["data"]["spec"]["template"]["$patch"] == "replace"
    assert daemonset.history(ds, [rev1], []).actions == []  # up to date
    ds2 = copy.deepcopy(ds)
    ds2["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    rev2 = daemonset.history(ds2, [rev1], []).current
    assert rev2["revision"] == 2
    # Rolling back to the first template renumbers its revision instead of making a third.
    back = daemonset.history(ds, [rev1, rev2], [])
    assert [(type(a), a.body["revision"]) for a in back.actions] == [(actions.Update, 3)]
    # Past the limit, an old revision no pod uses is deleted; one still in use is kept.
    ds3 = copy.deepcopy(ds)
    ds3["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:3"
    trimmed = daemonset.history(ds3, [rev1, rev2], [])
    assert [a.name for a in trimmed.actions if isinstance(a, actions.Delete)] == [rev1["metadata"]["name"]]
    user = {"metadata": {"labels": {daemonset.REVISION_LABEL: rev1["metadata"]["labels"][daemonset.REVISION_LABEL]},
                         "ownerReferences": [{"uid": "uid-ds", "controller": True}]}}
    kept = daemonset.history(ds3, [rev1, rev2], [user])
    assert [a.name for a in kept.actions if isinstance(a, actions.Delete)] == [rev2["metadata"]["name"]]


def test_orphans_are_adopted_and_strays_released():
    w = World(make_ds(), [node("a")])
    w.sync()
    orphan = copy.deepcopy(next(iter(w.pods.values())))
    orphan["metadata"].update(name="orphan", uid="o1", ownerReferences=[])
    stray = copy.deepcopy(orphan)
    stray["metadata"].update(name="stray", uid="s1", labels={"app": "other"},
                             ownerReferences=[{"uid": "uid-ds", "controller": True, "kind": "DaemonSet"}])
    result = daemonset.plan(w.ds, w.nodes, [*w.pods.values(), orphan, stray], NOW)
    patches = {a.name: a.patch for a in result.actions if isinstance(a, actions.Patch)}
    assert patches["orphan"]["metadata"]["ownerReferences"][0]["uid"] == "uid-ds"
    assert patches["stray"]["metadata"]["ownerReferences"] == [{"$patch": "delete", "uid": "uid-ds"}]
