from datetime import UTC, datetime, timedelta

from pyk8s.controllers import expectations, podtemplate

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
OWNER = {"metadata": {"name": "web", "namespace": "ns", "uid": "u-1"}}


def test_fnv32a_known_vectors():
    assert podtemplate.fnv32a(b"") == 0x811C9DC5
    assert podtemplate.fnv32a(b"a") == 0xE40C292C
    assert podtemplate.fnv32a(b"foobar") == 0xBF9CF968


def test_safe_encode_maps_digits_into_alphabet():
    assert podtemplate.safe_encode("0123456789") == "456789bcdf"


def test_hash_shape_and_sensitivity():
    t1 = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}
    t2 = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}
    h1 = podtemplate.compute_hash(t1)
    assert set(h1) <= set(podtemplate.SAFE_ALPHABET) and 1 <= len(h1) <= 10
    assert h1 == podtemplate.compute_hash({"spec": t1["spec"], "metadata": t1["metadata"]})  # key order irrelevant
    assert h1 != podtemplate.compute_hash(t2)
    assert podtemplate.compute_hash(t1, 1) != podtemplate.compute_hash(t1, 2) != h1


def test_controller_ref_and_pod_from_template():
    ref = podtemplate.controller_ref(OWNER, api_version="apps/v1", kind="ReplicaSet")
    assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "u-1",
                   "controller": True, "blockOwnerDeletion": True}
    template = {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}, "finalizers": ["x/y"]},
                "spec": {"containers": [{"name": "c", "image": "i"}]}}
    pod = podtemplate.pod_from_template(template, OWNER, ref)
    assert pod["metadata"]["generateName"] == "web-"
    assert pod["metadata"]["namespace"] == "ns"
    assert pod["metadata"]["labels"] == {"app": "web"}
    assert pod["metadata"]["finalizers"] == ["x/y"]
    assert pod["metadata"]["ownerReferences"] == [ref]
    pod["spec"]["containers"][0]["image"] = "changed"
    assert template["spec"]["containers"][0]["image"] == "i"  # deep copy
    assert podtemplate.controller_of(pod) == ref
    assert podtemplate.is_controlled_by(pod, OWNER)


def test_adopt_and_release_patches():
    pod = {"metadata": {"name": "p", "uid": "pod-uid"}}
    ref = podtemplate.controller_ref(OWNER, api_version="apps/v1", kind="ReplicaSet")
    assert podtemplate.adoption_patch(pod, ref) == {"metadata": {"ownerReferences": [ref], "uid": "pod-uid"}}
    assert podtemplate.release_patch(pod, "u-1")["metadata"]["ownerReferences"] == [{"$patch": "delete", "uid": "u-1"}]


def test_expectations_lifecycle():
    exp = expectations.Expectations()
    assert exp.satisfied("ns/web", NOW)  # unknown key: act
    exp.expect_creations("ns/web", 2, NOW)
    assert not exp.satisfied("ns/web", NOW)
    exp.creation_observed("ns/web")
    assert not exp.satisfied("ns/web", NOW)
    exp.creation_observed("ns/web")
    assert exp.satisfied("ns/web", NOW)


def test_expectations_expire_after_five_minutes():
    exp = expectations.Expectations()
    exp.expect_creations("k", 3, NOW)
    assert not exp.satisfied("k", NOW + timedelta(minutes=5))
    assert exp.satisfied("k", NOW + timedelta(minutes=5, seconds=1))


def test_expectations_track_deleted_keys():
    exp = expectations.Expectations()
    exp.expect_deletions("k", ["ns/a", "ns/b"], NOW)
    exp.deletion_observed("k", "ns/zzz")  # not awaited: ignored
    assert exp.pending("k") == (0, 2)
    exp.deletion_observed("k", "ns/a")
    exp.deletion_observed("k", "ns/a")  # twice: counted once
    assert exp.pending("k") == (0, 1)
    exp.deletion_observed("k", "ns/b")
    assert exp.satisfied("k", NOW)
    exp.forget("k")
    assert exp.pending("k") is None
