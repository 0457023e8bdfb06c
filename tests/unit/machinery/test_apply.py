import copy

import pytest

from pyk8s.machinery import apply as ssa
from pyk8s.machinery.errors import StatusError

DEP = "io.test.Deployment"
T0 = "2026-01-01T00:00:00Z"


def config(replicas=3, image="nginx:1.25", labels=None, containers=None):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels if labels is not None else {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": containers or [
                             {"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}]}},
        },
    }


def do_apply(registry, live, cfg, manager="kubectl", force=False):
    return ssa.apply(live, cfg, manager, force=force, schema_name=DEP, registry=registry, now=T0)


def entry(obj, manager, operation):
    for e in obj["metadata"]["managedFields"]:
        if e["manager"] == manager and e["operation"] == operation:
            return e
    raise AssertionError(f"no entry for {manager}/{operation}")


def test_apply_create_records_fields(registry):
    cfg = config()
    saved = copy.deepcopy(cfg)
    out = do_apply(registry, None, cfg)
    assert cfg == saved
    e = entry(out, "kubectl", "Apply")
    assert e["apiVersion"] == "apps/v1" and e["fieldsType"] == "FieldsV1" and e["time"] == T0
    fv = e["fieldsV1"]
    assert fv["f:metadata"] == {"f:labels": {"f:app": {}}}
    assert fv["f:spec"]["f:replicas"] == {}
    item = fv["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert item["."] == {} and item["f:image"] == {} and item["f:name"] == {}
    assert item["f:ports"] == {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}
    assert "f:apiVersion" not in fv and "f:name" not in fv["f:metadata"]
    assert out["spec"]["replicas"] == 3


def test_reapply_edits_and_removes(registry):
    live = do_apply(registry, None, config(labels={"app": "web", "tier": "fe"}))
    # Defaulting on the server added a protocol; the key still matches.
    live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP"
    out = do_apply(registry, live, config(image="nginx:1.26"))
    c = out["spec"]["template"]["spec"]["containers"]
    assert len(c) == 1 and c[0]["image"] == "nginx:1.26"
    assert c[0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    # The applier no longer sets the tier label, and nobody else owns it: gone.
    assert out["metadata"]["labels"] == {"app": "web"}
    assert "f:tier" not in entry(out, "kubectl", "Apply")["fieldsV1"]["f:metadata"]["f:labels"]


def test_reapply_drops_container(registry):
    two = [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]
    live = do_apply(registry, None, config(containers=two))
    out = do_apply(registry, live, config(containers=[{"name": "a", "image": "x"}]))
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["a"]


def test_conflict_with_update_manager_and_force(registry):
    live = do_apply(registry, None, config())
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    ssa.record_update(live, scaled, "kubectl-scale", schema_name=DEP, registry=registry, now=T0)
    assert entry(scaled, "kubectl-scale", "Update")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    # The scaler took replicas away from the applier.
    assert "f:replicas" not in entry(scaled, "kubectl", "Apply")["fieldsV1"]["f:spec"]

    with pytest.raises(StatusError) as ei:
        do_apply(registry, scaled, config(replicas=3))
    err = ei.value
    assert err.code == 409 and err.reason == "Conflict"
    assert err.message == ('Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1 at '
                           f'{T0}: .spec.replicas')
    assert err.causes[0].reason == "FieldManagerConflict" and err.causes[0].field == ".spec.replicas"

    # Same value: no conflict, shared ownership.
    same = do_apply(registry, scaled, config(replicas=5))
    assert entry(same, "kubectl-scale", "Update")["fieldsV1"] == {"f:spec": {"f:replicas": {}}}

    forced = do_apply(registry, scaled, config(replicas=3), force=True)
    assert forced["spec"]["replicas"] == 3
    managers = {(e["manager"], e["operation"]) for e in forced["metadata"]["managedFields"]}
    assert managers == {("kubectl", "Apply")}


def test_two_appliers_conflict_message_lists_paths(registry):
    live = do_apply(registry, None, config(), manager="a")
    with pytest.raises(StatusError) as ei:
        do_apply(registry, live, config(replicas=9, image="other"), manager="b")
    msg = ei.value.message
    assert msg.startswith('Apply failed with 2 conflicts: conflicts with "a":')
    assert '- .spec.template.spec.containers[name="nginx"].image' in msg
    assert "- .spec.replicas" in msg


def test_removal_kept_when_other_manager_owns(registry):
    live = do_apply(registry, None, config(labels={"app": "web", "team": "x"}))
    edited = copy.deepcopy(live)
    edited["metadata"]["labels"]["team"] = "y"
    ssa.record_update(live, edited, "kubectl-label", schema_name=DEP, registry=registry, now=T0)
    out = do_apply(registry, edited, config(labels={"app": "web"}))
    assert out["metadata"]["labels"] == {"app": "web", "team": "y"}


def test_record_update_on_create_marks_new_nodes(registry):
    new = config()
    out = ssa.record_update(None, new, "kubectl-create", schema_name=DEP, registry=registry, now=T0)
    assert out == new["metadata"]["managedFields"]
    fv = out[0]["fieldsV1"]
    assert out[0]["operation"] == "Update" and out[0]["apiVersion"] == "apps/v1"
    assert fv["f:metadata"]["f:labels"] == {".": {}, "f:app": {}}
    assert fv["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']["."] == {}


def test_record_update_noop_keeps_time_and_reset(registry):
    old = config()
    ssa.record_update(None, old, "m", schema_name=DEP, registry=registry, now=T0)
    new = copy.deepcopy(old)
    ssa.record_update(old, new, "m", schema_name=DEP, registry=registry, now="2030-01-01T00:00:00Z")
    assert new["metadata"]["managedFields"][0]["time"] == T0
    # No-op by another manager records nothing for it.
    new2 = copy.deepcopy(old)
    ssa.record_update(old, new2, "other", schema_name=DEP, registry=registry)
    assert [e["manager"] for e in new2["metadata"]["managedFields"]] == ["m"]
    # Sending an empty list resets ownership.
    reset = copy.deepcopy(old)
    reset["metadata"]["managedFields"] = []
    ssa.record_update(old, reset, "other", schema_name=DEP, registry=registry)
    assert "managedFields" not in reset["metadata"]


def test_fields_v1_round_trip_and_path_string():
    paths = {("f:spec", "f:replicas"), ("f:spec", "f:c", 'k:{"name":"x"}'), ("f:spec", "f:c", 'k:{"name":"x"}', "f:image"),
             ("f:metadata", "f:finalizers", 'v:"a"')}
    trie = ssa.to_fields_v1(paths)
    assert trie["f:spec"]["f:c"]['k:{"name":"x"}'] == {".": {}, "f:image": {}}
    assert ssa.from_fields_v1(trie) == paths
    assert ssa.path_string(("f:spec", "f:c", 'k:{"name":"x"}', "f:image")) == '.spec.c[name="x"].image'
    assert ssa.path_string(("f:m", 'v:"a"')) == '.m[="a"]'


def test_set_list_union(registry):
    cfg = config()
    cfg["metadata"]["finalizers"] = ["a"]
    live = do_apply(registry, None, cfg)
    cfg2 = config()
    cfg2["metadata"]["finalizers"] = ["b"]
    out = do_apply(registry, live, cfg2, manager="other")
    assert out["metadata"]["finalizers"] == ["a", "b"]
    fv = entry(out, "other", "Apply")["fieldsV1"]
    assert fv["f:metadata"]["f:finalizers"] == {'v:"b"': {}}


def test_untracked_live_object_is_owned_by_before_first_apply(registry):
    live = config(replicas=2)
    with pytest.raises(StatusError) as ei:
        do_apply(registry, live, config(replicas=4))
    assert 'conflict with "before-first-apply" using apps/v1' in ei.value.message
    out = do_apply(registry, live, config(replicas=2))
    assert {e["manager"] for e in out["metadata"]["managedFields"]} == {"before-first-apply", "kubectl"}


def test_emptied_list_is_dropped_and_fields_v1_sorted(registry):
    cs = [{"name": "nginx", "image": "i", "env": [{"name": "A", "value": "1"}]}]
    live = do_apply(registry, None, config(containers=cs))
    fv = entry(live, "kubectl", "Apply")["fieldsV1"]
    item = fv["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert list(item) == [".", "f:env", "f:image", "f:name"]
    out = do_apply(registry, live, config(containers=[{"name": "nginx", "image": "i"}]))
    assert out["spec"]["template"]["spec"]["containers"] == [{"name": "nginx", "image": "i"}]


def test_apply_config_may_not_carry_managed_fields(registry):
    cfg = config()
    cfg["metadata"]["managedFields"] = [{"manager": "x"}]
    with pytest.raises(StatusError) as ei:
        do_apply(registry, None, cfg)
    assert ei.value.code == 400 and ei.value.message == "metadata.managedFields must be nil"


def test_malformed_managed_fields_are_tolerated(registry):
    old = config()
    new = copy.deepcopy(old)
    new["metadata"]["managedFields"] = ["junk", {"manager": "m", "operation": "Update", "fieldsV1": "bad"}]
    new["spec"]["replicas"] = 7
    out = ssa.record_update(old, new, "w", schema_name=DEP, registry=registry, now=T0)
    assert [e["manager"] for e in out] == ["w"]
    assert out[0]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
