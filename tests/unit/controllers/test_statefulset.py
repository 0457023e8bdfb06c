import copy
from typing import Any

from pyk8s.controllers import actions, podtemplate, statefulset
from tests.unit.controllers.factories import NOW, ts


def make_sts(replicas: int = 3, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "ns", "uid": "uid-s", "generation": 1},
            "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
                     "template": {"metadata": {"labels": {"app": "nginx"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "www"},
                                               "spec": {"accessModes": ["ReadWriteOnce"]}}],
                     "podManagementPolicy": "OrderedReady",
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                     "revisionHistoryLimit": 10, **spec},
            "status": {}}


class World:
    def __init__(self, sts: dict[str, Any]) -> None:
        self.sts = sts
        self.pods: dict[str, dict[str, Any]] = {}
        self.revs: dict[str, dict[str, Any]] = {}
        self.pvcs: dict[str, dict[str, Any]] = {}
        self.serial = 0

    def sync(self) -> statefulset.StatefulSetPlan:
        result = statefulset.plan(self.sts, list(self.pods.values()), list(self.revs.values()),
                                  list(self.pvcs.values()), NOW)
        for act in result.actions:
            self.serial += 1
            store = {"pods": self.pods, "controllerrevisions": self.revs, "persistentvolumeclaims": self.pvcs,
                     "statefulsets": None}[act.resource]
            if isinstance(act, actions.Create):
                body = copy.deepcopy(act.body)
                body["metadata"]["uid"] = f"u{self.serial}"
                store[body["metadata"]["name"]] = body
            elif isinstance(act, actions.Update) and store is None:
                self.sts["status"] = act.body["status"]
            elif isinstance(act, actions.Update):
                store[act.body["metadata"]["name"]] = copy.deepcopy(act.body)
            elif isinstance(act, actions.Delete):
                store.pop(act.name)
        return result

    def settle(self) -> None:
        for pod in self.pods.values():
            pod["status"] = {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": ts(100)}]}

    def run(self, steps: int = 20) -> None:
        for _ in range(steps):
            self.sync()
            self.settle()


def test_ordered_ready_creates_one_pod_at_a_time():
    w = World(make_sts(3))
    result = w.sync()
    creates = [a.body for a in result.actions if isinstance(a, actions.Create)]
    kinds = [(a.resource, a.body["metadata"]["name"]) for a in result.actions if isinstance(a, actions.Create)]
    assert ("persistentvolumeclaims", "www-web-0") in kinds and ("pods", "web-0") in kinds
    assert not any(name == "web-1" for _, name in kinds)
    pod = next(b for b in creates if b["kind"] == "Pod")
    assert pod["spec"]["hostname"] == "web-0" and pod["spec"]["subdomain"] == "nginx"
    labels = pod["metadata"]["labels"]
    assert labels[statefulset.POD_NAME_LABEL] == "web-0" and labels[statefulset.POD_INDEX_LABEL] == "0"
    rev = next(b for b in creates if b["kind"] == "ControllerRevision")
    assert labels[statefulset.REVISION_LABEL] == rev["metadata"]["name"]
    assert rev["metadata"]["name"].startswith("web-") and rev["revision"] == 1
    assert pod["spec"]["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}}]
    pvc = next(b for b in creates if b["kind"] == "PersistentVolumeClaim")
    assert pvc["metadata"]["labels"] == {"app": "nginx"}
    w.sync()  # web-0 not running yet: nothing new
    assert set(w.pods) == {"web-0"}
    w.run(5)
    assert set(w.pods) == {"web-0", "web-1", "web-2"}
    assert w.sts["status"]["readyReplicas"] == 3 and w.sts["status"]["currentRevision"] == rev["metadata"]["name"]


def test_parallel_creates_all_at_once():
    w = World(make_sts(3, podManagementPolicy="Parallel"))
    w.sync()
    assert set(w.pods) == {"web-0", "web-1", "web-2"}


def test_scale_down_highest_ordinal_first():
    w = World(make_sts(3))
    w.run(6)
    w.sts["spec"]["replicas"] = 1
    w.sync()
    assert set(w.pods) == {"web-0", "web-1"}
    w.sync()
    assert set(w.pods) == {"web-0"}


def test_rolling_update_from_highest_ordinal_respects_partition():
    w = World(make_sts(3))
    w.run(6)
    old_rev = w.sts["status"]["currentRevision"]
    w.sts["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    w.sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 1
    w.sync()
    assert "web-2" not in w.pods  # deleted for update
    w.run(6)
    new_rev = w.sts["status"]["updateRevision"]
    assert new_rev != old_rev
    revs = {n: p["metadata"]["labels"][statefulset.REVISION_LABEL] for n, p in w.pods.items()}
    assert revs == {"web-0": old_rev, "web-1": new_rev, "web-2": new_rev}
    assert w.sts["status"]["updatedReplicas"] == 2 and w.sts["status"]["currentRevision"] == old_rev
    w.sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 0
    w.run(4)
    assert w.sts["status"]["currentRevision"] == new_rev
    assert w.sts["status"]["currentReplicas"] == 3


def test_on_delete_does_not_replace_pods():
    w = World(make_sts(2, updateStrategy={"type": "OnDelete"}))
    w.run(4)
    w.sts["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    w.run(3)
    assert len({p["metadata"]["labels"][statefulset.REVISION_LABEL] for p in w.pods.values()}) == 1
    del w.pods["web-1"]
    w.run(2)
    new_rev = w.sts["status"]["updateRevision"]
    assert w.pods["web-1"]["metadata"]["labels"][statefulset.REVISION_LABEL] == new_rev


def test_failed_pod_is_recreated():
    w = World(make_sts(1))
    w.run(2)
    w.pods["web-0"]["status"]["phase"] = "Failed"
    w.sync()
    assert "web-0" not in w.pods
    w.sync()
    assert "web-0" in w.pods


def test_revision_hash_uses_fnv1_and_rollback_reuses_revision():
    assert statefulset.fnv32(b"a") == 0x050C5D7E  # FNV-1, not FNV-1a
    assert set(statefulset.revision_hash({"x": 1})) <= set(podtemplate.SAFE_ALPHABET)
    w = World(make_sts(1))
    w.run(2)
    first = w.sts["status"]["updateRevision"]
    w.sts["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    w.run(3)
    w.sts["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1"
    w.run(3)
    assert w.sts["status"]["updateRevision"] == first
    assert w.revs[first]["revision"] == 3 and len(w.revs) == 2


def test_retention_policy_owner_refs():
    sts = make_sts(1, persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Delete"})
    claim = {"metadata": {"name": "www-web-0"}}
    pod = {"metadata": {"name": "web-1", "uid": "p1"}}
    refs = statefulset.claim_owner_refs(sts, claim, pod, 0)
    assert [r["kind"] for r in refs] == ["StatefulSet"]
    refs = statefulset.claim_owner_refs(sts, claim, pod, 1)  # condemned ordinal
    assert [(r["kind"], r["uid"]) for r in refs] == [("Pod", "p1")]
    keep = make_sts(1)
    owned = {"metadata": {"ownerReferences": [{"kind": "StatefulSet", "uid": "uid-s"}]}}
    assert statefulset.claim_owner_refs(keep, owned, pod, 0) == []


def test_start_ordinal():
    w = World(make_sts(2, ordinals={"start": 5}, podManagementPolicy="Parallel"))
    w.sync()
    assert set(w.pods) == {"web-5", "web-6"}
    assert "www-web-5" in w.pvcs


def test_adopts_member_orphans_only_and_repairs_identity_labels():
    w = World(make_sts(2))
    orphan = {"metadata": {"name": "web-0", "namespace": "ns", "uid": "o0", "labels": {"app": "nginx"}},
              "spec": {"containers": []}, "status": {"phase": "Running", "conditions": [
                  {"type": "Ready", "status": "True", "lastTransitionTime": ts(100)}]}}
    stranger = copy.deepcopy(orphan)
    stranger["metadata"].update(name="db-0", uid="d0")
    w.pods = {"web-0": orphan, "db-0": stranger}
    result = w.sync()
    patched = [a.name for a in result.actions if isinstance(a, actions.Patch)]
    assert patched == ["web-0"]  # "db-0" is not a member of "web" although its labels match
    fixed = next(a.body for a in result.actions if isinstance(a, actions.Update) and a.resource == "pods")
    assert fixed["metadata"]["labels"][statefulset.POD_INDEX_LABEL] == "0"
    assert "hostname" not in fixed["spec"]  # immutable after creation: labels only
