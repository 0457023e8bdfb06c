import pytest

from pyk8s.controllers import actions, podstate, replicaset
from tests.unit.controllers.factories import NOW, pod
from tests.unit.controllers.factories import replicaset as make_rs


def test_slow_start_batches_double_up_to_count():
    assert replicaset.slow_start_batches(0) == []
    assert replicaset.slow_start_batches(1) == [1]
    assert replicaset.slow_start_batches(10) == [1, 2, 4, 3]
    assert replicaset.slow_start_batches(15) == [1, 2, 4, 8]
    assert sum(replicaset.slow_start_batches(500)) == 500


async def test_slow_start_stops_after_first_failing_batch():
    calls = 0

    async def create() -> None:
        nonlocal calls
        calls += 1
        if calls > 4:
            raise RuntimeError("quota")

    successes, err = await replicaset.slow_start(10, create)
    assert calls == 7  # batches 1, 2, then the batch of 4 fails partway
    assert successes == 4
    assert str(err) == "quota"


def test_scale_up_from_zero_creates_missing_pods():
    rs = make_rs(replicas=3)
    plan = replicaset.plan(rs, [], NOW)
    assert plan.create == 3 and plan.diff == -3
    assert plan.pod["metadata"]["generateName"] == "web-"
    assert plan.pod["metadata"]["ownerReferences"][0]["uid"] == "uid-web"
    assert plan.status["replicas"] == 0


def test_no_action_when_expectations_pending():
    plan = replicaset.plan(make_rs(replicas=3), [], NOW, satisfied=False)
    assert plan.create == 0 and not plan.delete


def test_being_deleted_set_does_not_manage_pods():
    rs = make_rs(replicas=3)
    rs["metadata"]["deletionTimestamp"] = "2024-05-01T11:00:00Z"
    assert replicaset.plan(rs, [], NOW).create == 0


def test_burst_caps_creations():
    assert replicaset.plan(make_rs(replicas=900), [], NOW).create == 500


def test_adopts_orphans_releases_mismatches_ignores_foreign():
    rs = make_rs(replicas=2)
    other = {"metadata": {"name": "other", "uid": "uid-other"}}
    pods = [
        pod("orphan"),
        pod("mine", owner=rs),
        pod("mislabeled", owner=rs, labels={"app": "db"}),
        pod("foreign", owner=other),
        pod("orphan-other-labels", labels={"app": "db"}),
        pod("done", phase="Succeeded"),
        pod("terminating", deleting=True),
    ]
    plan = replicaset.plan(rs, pods, NOW)
    patched = {a.name: a.patch for a in plan.actions if isinstance(a, actions.Patch)}
    assert set(patched) == {"orphan", "mislabeled"}
    assert patched["orphan"]["metadata"]["ownerReferences"][0]["controller"] is True
    assert patched["mislabeled"]["metadata"]["ownerReferences"] == [{"$patch": "delete", "uid": "uid-web"}]
    assert [p["metadata"]["name"] for p in plan.owned] == ["orphan", "mine"]
    assert plan.create == 0 and not plan.delete


def test_scale_down_deletes_in_active_pods_order():
    rs = make_rs(replicas=2)
    pods = [
        pod("ready-old", owner=rs, ready_since=1000, created=2000),
        pod("pending", owner=rs, phase="Pending"),
        pod("unassigned", owner=rs, phase="Pending", node=""),
        pod("not-ready", owner=rs),
        pod("ready-new", owner=rs, ready_since=10, created=20),
    ]
    plan = replicaset.plan(rs, pods, NOW)
    assert [p["metadata"]["name"] for p in plan.delete] == ["unassigned", "pending", "not-ready"]
    deletes = [a for a in plan.actions if isinstance(a, actions.Delete)]
    assert [(d.name, d.uid) for d in deletes][0] == ("unassigned", "uid-unassigned")


def test_deletion_order_ties():
    restarts = [pod("few", restarts=1, ready_since=50), pod("many", restarts=5, ready_since=50)]
    assert [p["metadata"]["name"] for p in podstate.deletion_order(restarts)] == ["many", "few"]
    ages = [pod("old", created=500), pod("new", created=5)]
    assert [p["metadata"]["name"] for p in podstate.deletion_order(ages)] == ["new", "old"]
    shorter = [pod("long", ready_since=500), pod("short", ready_since=5)]
    assert [p["metadata"]["name"] for p in podstate.deletion_order(shorter)] == ["short", "long"]
    cost = [pod("expensive", ready_since=5), pod("cheap", ready_since=5)]
    cost[0]["metadata"]["annotations"] = {podstate.DELETION_COST_ANNOTATION: "100"}
    assert podstate.deletion_order(cost)[0]["metadata"]["name"] == "cheap"
    states = [pod("running", phase="Running"), pod("unknown", phase="Unknown"), pod("pend", phase="Pending")]
    assert [p["metadata"]["name"] for p in podstate.deletion_order(states)] == ["pend", "unknown", "running"]


def test_logarithmic_buckets_group_similar_ages():
    # 100 s and 120 s old fall in the same log2(ns) bucket: the UID breaks the tie.
    a = pod("a", uid="b-uid", ready_since=100)
    b = pod("b", uid="a-uid", ready_since=120)
    assert podstate.deletion_order([a, b], now=NOW)[0]["metadata"]["name"] == "b"
    assert podstate.deletion_order([a, b])[0]["metadata"]["name"] == "a"  # exact: shorter-ready first


def test_rank_prefers_doubled_up_nodes():
    rs = make_rs(replicas=1)
    pods = [pod("alone", owner=rs, node="n1", ready_since=5), pod("crowded", owner=rs, node="n2", ready_since=5)]
    related = [*pods, pod("sibling", node="n2")]
    chosen = replicaset.pods_to_delete(pods, related, 1, NOW)
    assert [p["metadata"]["name"] for p in chosen] == ["crowded"]


def test_status_counts_and_min_ready_requeue():
    rs = make_rs(replicas=3, min_ready=30, generation=4)
    pods = [pod("a", owner=rs, ready_since=100), pod("b", owner=rs, ready_since=10),
            pod("c", owner=rs, ready_since=5, labels={"app": "web", "extra": "x"})]
    pods[2]["metadata"]["labels"] = {"app": "web"}
    plan = replicaset.plan(rs, pods, NOW)
    assert plan.status["replicas"] == 3
    assert plan.status["readyReplicas"] == 3
    assert plan.status["availableReplicas"] == 1
    assert plan.status["fullyLabeledReplicas"] == 3
    assert plan.status["observedGeneration"] == 4
    assert plan.requeue_after == 30.0


def test_fully_labeled_needs_every_template_label():
    rs = make_rs(replicas=1)
    rs["spec"]["template"]["metadata"]["labels"] = {"app": "web", "tier": "fe"}
    plan = replicaset.plan(rs, [pod("a", owner=rs)], NOW)
    assert plan.status["fullyLabeledReplicas"] == 0


def test_replica_failure_condition_set_and_cleared():
    rs = make_rs(replicas=3)
    status = replicaset.calculate_status(rs, [], NOW, diff=-3, manage_error='pods "web-x" is forbidden: quota')
    cond = status["conditions"][0]
    assert (cond["type"], cond["reason"], cond["status"]) == ("ReplicaFailure", "FailedCreate", "True")
    rs["status"] = status
    assert "conditions" not in replicaset.calculate_status(rs, [], NOW)
    assert replicaset.calculate_status(rs, [], NOW, diff=2, manage_error="x")["conditions"][0]["reason"] == "FailedCreate"
    fresh = make_rs()
    assert replicaset.calculate_status(fresh, [], NOW, diff=2, manage_error="x")["conditions"][0]["reason"] == "FailedDelete"


@pytest.mark.parametrize("selector,labels,expected", [
    ({"app": "web"}, {"app": "web", "x": "y"}, True),
    ({"app": "web"}, {"app": "db"}, False),
    (None, {"app": "web"}, True),  # defaults to the template labels
])
def test_replication_controller_map_selector(selector, labels, expected):
    rc = {"metadata": {"name": "rc", "uid": "u"},
          "spec": {"selector": selector, "template": {"metadata": {"labels": {"app": "web"}}}}}
    assert replicaset.selector_matches(rc, labels, replicaset.REPLICATION_CONTROLLER) is expected


def test_replication_controller_plan_uses_v1_owner_ref():
    rc = {"metadata": {"name": "rc", "namespace": "ns", "uid": "u"},
          "spec": {"replicas": 1, "selector": {"app": "web"}, "template": {"metadata": {"labels": {"app": "web"}}}}}
    plan = replicaset.plan(rc, [], NOW, kind=replicaset.REPLICATION_CONTROLLER)
    assert plan.pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicationController"
    assert plan.pod["metadata"]["ownerReferences"][0]["apiVersion"] == "v1"
