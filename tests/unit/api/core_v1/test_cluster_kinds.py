import copy

from .conftest import create, msgs, strategy


def test_namespace_create() -> None:
    ns = create("namespaces", {"metadata": {"name": "dev"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "dev"}
    assert strategy("namespaces").validate(ns) == []
    assert strategy("namespaces").field_selectors["status.phase"](ns) == "Active"


def test_namespace_name_is_dns_label_and_finalizers_kept() -> None:
    s = strategy("namespaces")
    bad = create("namespaces", {"metadata": {"name": "a.b"}})
    assert msgs(s.validate(bad)) == ['metadata.name: Invalid value: "a.b": must not contain dots']
    old = create("namespaces", {"metadata": {"name": "dev"}})
    new = copy.deepcopy(old)
    new["spec"]["finalizers"] = []
    s.prepare_for_update(new, old)
    assert new["spec"]["finalizers"] == ["kubernetes"]


def test_node_keeps_status_on_create() -> None:
    node = create("nodes", {"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "k", "effect": "Bad"}]},
                            "status": {"capacity": {"cpu": "2"}}})
    assert node["status"]["capacity"] == {"cpu": "2"} and node["status"]["allocatable"] == {"cpu": "2"}
    assert msgs(strategy("nodes").validate(node)) == [
        'spec.taints[0].effect: Unsupported value: "Bad": supported values: "NoExecute", "NoSchedule", '
        '"PreferNoSchedule"']
    assert strategy("nodes").field_selectors["spec.unschedulable"](node) == "false"


def test_pv_defaults_and_validation() -> None:
    pv = create("persistentvolumes", {"metadata": {"name": "pv1"},
                                      "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                               "hostPath": {"path": "/data"}}})
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["status"]["phase"] == "Pending"
    assert strategy("persistentvolumes").validate(pv) == []
    bad = create("persistentvolumes", {"metadata": {"name": "pv2"}, "spec": {"capacity": {"storage": "1Gi"}}})
    assert msgs(strategy("persistentvolumes").validate(bad)) == [
        "spec.accessModes: Required value", "spec: Required value: must specify a volume type"]
