from datetime import timedelta

import pytest

from pyk8s.controllers import actions
from pyk8s.controllers.deployment import plan, progress, revision, rollingmath
from tests.unit.controllers.deployment_world import World, deployment
from tests.unit.controllers.factories import NOW


@pytest.mark.parametrize("surge,unavail,replicas,expected", [
    ("25%", "25%", 10, (3, 2)),
    ("25%", "25%", 1, (1, 0)),
    (0, 0, 5, (0, 1)),
    ("0%", "0%", 5, (0, 1)),
    (2, "50%", 3, (2, 1)),
    ("10%", 0, 3, (1, 0)),
])
def test_fenceposts_round_surge_up_unavailable_down(surge, unavail, replicas, expected):
    d = deployment(replicas, strategy={"type": "RollingUpdate",
                                       "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavail}})
    assert rollingmath.fenceposts(d) == expected


def test_max_unavailable_capped_and_zero_for_recreate():
    d = deployment(2, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 5}})
    assert rollingmath.max_unavailable(d) == 2
    assert rollingmath.max_unavailable(deployment(2, strategy={"type": "Recreate"})) == 0
    assert rollingmath.max_surge(deployment(2, strategy={"type": "Recreate"})) == 0


def test_equal_ignore_hash():
    a = {"metadata": {"labels": {"app": "web", "pod-template-hash": "abc"}}, "spec": {"x": 1}}
    b = {"metadata": {"labels": {"app": "web"}, "annotations": {}}, "spec": {"x": 1}}
    assert revision.equal_ignore_hash(a, b)
    assert not revision.equal_ignore_hash(a, {"metadata": {"labels": {"app": "web"}}, "spec": {"x": 2}})


def test_first_sync_creates_new_replicaset_with_annotations():
    d = deployment(4)
    d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "v1", revision.LAST_APPLIED: "{}"}
    result = plan(d, [], [], NOW)
    creates = [a for a in result.actions if isinstance(a, actions.Create)]
    assert len(creates) == 1
    rs = creates[0].body
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
    assert rs["spec"]["replicas"] == 4
    ann = rs["metadata"]["annotations"]
    assert ann[revision.REVISION] == "1"
    assert ann[revision.DESIRED_REPLICAS] == "4" and ann[revision.MAX_REPLICAS] == "5"
    assert ann["kubernetes.io/change-cause"] == "v1"
    assert revision.LAST_APPLIED not in ann
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    patch = next(a for a in result.actions if isinstance(a, actions.Patch))
    assert patch.patch == {"metadata": {"annotations": {revision.REVISION: "1"}}}
    cond = progress.condition(result.status, "Progressing")
    assert (cond["reason"], cond["message"]) == ("NewReplicaSetCreated", f'Created new replica set "web-{pod_hash}"')
    assert f"Scaled up replica set web-{pod_hash} to 4" in [e.message for e in result.events]
    assert progress.condition(result.status, "Available")["reason"] == "MinimumReplicasUnavailable"


def test_initial_rollout_completes():
    world = World(deployment(3))
    world.converge(5)
    status = world.d["status"]
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (3, 3, 3)
    assert "unavailableReplicas" not in status
    cond = progress.condition(status, "Progressing")
    assert cond["reason"] == "NewReplicaSetAvailable"
    assert cond["message"].endswith("has successfully progressed.")
    assert progress.condition(status, "Available")["status"] == "True"


@pytest.mark.parametrize("surge,unavail", [(1, 1), (0, 1), (1, 0), ("25%", "25%"), (3, 0)])
def test_rolling_update_respects_surge_and_unavailable(surge, unavail):
    d = deployment(4, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavail}})
    world = World(d)
    world.converge(5)
    old_name = next(iter(world.rss))
    world.d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    world.d["metadata"]["generation"] = 2
    max_surge, max_unavail = rollingmath.fenceposts(d)
    for spec_total, available in world.converge(30):
        assert spec_total <= 4 + max_surge
        assert available >= 4 - max_unavail
    assert len(world.rss) == 2
    new = next(rs for name, rs in world.rss.items() if name != old_name)
    assert new["spec"]["replicas"] == 4 and world.rss[old_name]["spec"]["replicas"] == 0
    assert new["metadata"]["annotations"][revision.REVISION] == "2"
    assert world.d["metadata"]["annotations"][revision.REVISION] == "2"
    assert progress.condition(world.d["status"], "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert world.d["status"]["updatedReplicas"] == 4 and world.d["status"]["observedGeneration"] == 2


def test_rollback_reuses_old_replicaset_and_records_history():
    world = World(deployment(2))
    world.converge(4)
    first = next(iter(world.rss))
    world.d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    world.converge(10)
    world.d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1"  # kubectl rollout undo
    world.converge(10)
    assert len(world.rss) == 2
    ann = world.rss[first]["metadata"]["annotations"]
    assert ann[revision.REVISION] == "3" and ann[revision.REVISION_HISTORY] == "1"
    assert world.rss[first]["spec"]["replicas"] == 2


def test_recreate_scales_old_to_zero_before_creating_new():
    world = World(deployment(3, strategy={"type": "Recreate"}))
    world.converge(4)
    world.d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    world.sync()
    assert len(world.rss) == 1 and next(iter(world.rss.values()))["spec"]["replicas"] == 0
    world.sync()  # old pods still counted in status: wait
    assert len(world.rss) == 1
    world.settle()
    world.sync()
    assert len(world.rss) == 2
    world.converge(3)
    assert sorted(rs["spec"]["replicas"] for rs in world.rss.values()) == [0, 3]


def test_progress_deadline_exceeded():
    world = World(deployment(2, progressDeadlineSeconds=60))
    world.ready = False
    world.converge(2)
    assert progress.condition(world.d["status"], "Progressing")["status"] == "True"
    result = world.sync()
    assert result.requeue_after is not None and result.requeue_after <= 60
    world.now = NOW + timedelta(seconds=61)
    world.sync()
    cond = progress.condition(world.d["status"], "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert cond["message"].endswith("has timed out progressing.")


def test_paused_deployment_scales_proportionally_but_does_not_roll():
    d = deployment(10, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}})
    world = World(d)
    world.converge(4)
    world.d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    world.ready = False
    world.sync()  # new RS created and surged
    world.settle()
    world.sync()
    sizes_before = {n: rs["spec"]["replicas"] for n, rs in world.rss.items()}
    world.d["spec"]["paused"] = True
    world.sync()
    assert progress.condition(world.d["status"], "Progressing")["reason"] == "DeploymentPaused"
    world.d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:3"
    world.sync()
    assert len(world.rss) == 2  # no rollout while paused
    world.d["spec"]["replicas"] = 20
    world.sync()
    sizes_after = {n: rs["spec"]["replicas"] for n, rs in world.rss.items()}
    assert sum(sizes_after.values()) == 20 + 3 + (sum(sizes_before.values()) - 13)
    for name in sizes_before:  # each set grew, roughly doubling
        assert sizes_after[name] > sizes_before[name]
    world.d["spec"]["paused"] = False
    world.sync()  # resumed with a changed template: the rollout starts at once
    assert len(world.rss) == 3
    assert progress.condition(world.d["status"], "Progressing")["reason"] == "NewReplicaSetCreated"


def test_paused_and_resumed_conditions():
    d = deployment(1, paused=True)
    cond = progress.paused_condition(d, NOW)
    assert (cond["status"], cond["reason"], cond["message"]) == ("Unknown", "DeploymentPaused", "Deployment is paused")
    d["status"] = {"conditions": [cond]}
    assert progress.paused_condition(d, NOW) is None
    d["spec"]["paused"] = False
    cond = progress.paused_condition(d, NOW)
    assert (cond["reason"], cond["message"]) == ("DeploymentResumed", "Deployment is resumed")
    timed_out = progress.new_condition("Progressing", "False", "ProgressDeadlineExceeded", "x", NOW)
    assert progress.paused_condition({**d, "spec": {"paused": True}, "status": {"conditions": [timed_out]}}, NOW) is None


def test_revision_history_limit_cleanup():
    world = World(deployment(1, revisionHistoryLimit=1))
    for image in ("a", "b", "c", "d"):
        world.d["spec"]["template"]["spec"]["containers"][0]["image"] = image
        world.converge(8)
    revisions = sorted(int(rs["metadata"]["annotations"][revision.REVISION]) for rs in world.rss.values())
    assert revisions == [3, 4]


def test_selecting_all_only_updates_observed_generation():
    d = deployment(1)
    d["spec"]["selector"] = {}
    d["metadata"]["generation"] = 3
    result = plan(d, [], [], NOW)
    assert result.status["observedGeneration"] == 3
    assert result.events[0].reason == "SelectingAll"
    assert not any(isinstance(a, actions.Create) for a in result.actions)


def test_replica_failure_propagates_from_replicaset():
    world = World(deployment(1))
    world.converge(2)
    rs = next(iter(world.rss.values()))
    rs["status"]["conditions"] = [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                   "message": "quota", "lastTransitionTime": "2024-05-01T12:00:00Z"}]
    world.sync()
    cond = progress.condition(world.d["status"], "ReplicaFailure")
    assert (cond["reason"], cond["message"]) == ("FailedCreate", "quota")


def test_hash_collision_bumps_collision_count():
    from pyk8s.controllers.deployment import collision_status, create_failed_status

    d = deployment(1)
    mine = plan(d, [], [], NOW).actions[0].body
    mine["metadata"]["ownerReferences"][0]["uid"] = "uid-d"
    assert collision_status(d, mine) is None
    stranger = {**mine, "metadata": {**mine["metadata"], "ownerReferences": []}}
    assert collision_status(d, stranger)["collisionCount"] == 1
    d["status"] = {"collisionCount": 1}
    again = plan(d, [], [], NOW).actions[0].body
    assert again["metadata"]["name"] != mine["metadata"]["name"]  # the count changes the hash
    status, event = create_failed_status(d, "web-x", "quota exceeded", NOW)
    cond = progress.condition(status, "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", "ReplicaSetCreateError")
    assert event.message == 'Failed to create new replica set "web-x": quota exceeded'


def test_recreate_ignores_pods_of_other_owners_in_the_namespace():
    stranger = {"metadata": {"name": "other-abc", "namespace": "default", "uid": "p-other",
                             "ownerReferences": [{"kind": "ReplicaSet", "name": "other", "uid": "rs-other",
                                                  "controller": True}]},
                "status": {"phase": "Running"}}
    result = plan(deployment(2, strategy={"type": "Recreate"}), [], [stranger], NOW)
    created = [a for a in result.actions if isinstance(a, actions.Create)]
    assert len(created) == 1 and created[0].body["spec"]["replicas"] == 2
