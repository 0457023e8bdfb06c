"""scheduling.k8s.io/v1 PriorityClass: registration, defaults and validation wording."""

import copy

import pyk8s.api  # noqa: F401  (fills SCHEME)
from pyk8s.api import scheduling_v1
from pyk8s.machinery.schema import REGISTRY
from pyk8s.machinery.scheme import SCHEME


def strategy():
    return SCHEME.get("scheduling.k8s.io", "v1", "priorityclasses").strategy


def messages(errs) -> list[str]:
    return [f"{e.field}: {e.message}" for e in errs]


def pc(name: str = "high", value: int = 1000, **fields) -> dict:
    return {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, **fields}


def created(obj: dict) -> dict:
    obj = copy.deepcopy(obj)
    strategy().default(obj)
    strategy().prepare_for_create(obj)
    return obj


def test_registration() -> None:
    rt = SCHEME.get("scheduling.k8s.io", "v1", "priorityclasses")
    assert rt is not None and not rt.namespaced and rt.short_names == ("pc",) and rt.kind == "PriorityClass"
    schema = REGISTRY.get("io.k8s.api.scheduling.v1.PriorityClass")
    assert schema.gvk == ("scheduling.k8s.io", "v1", "PriorityClass")
    assert schema.field("value").required
    assert REGISTRY.get("io.k8s.api.scheduling.v1.PriorityClassList") is not None
    assert "scheduling.k8s.io" in SCHEME.groups()


def test_defaults() -> None:
    obj = created({"metadata": {"name": "x"}, "globalDefault": False})
    assert obj["value"] == 0 and obj["preemptionPolicy"] == "PreemptLowerPriority" and "globalDefault" not in obj
    assert created(pc(preemptionPolicy="Never"))["preemptionPolicy"] == "Never"


def test_valid_classes() -> None:
    assert strategy().validate(created(pc(value=scheduling_v1.HIGHEST_USER_DEFINABLE_PRIORITY))) == []
    assert strategy().validate(created(pc(value=-5, globalDefault=True))) == []
    for spc in scheduling_v1.system_priority_classes():
        assert strategy().validate(created(spc)) == [], spc["metadata"]["name"]


def test_system_values() -> None:
    by_name = {p["metadata"]["name"]: p for p in scheduling_v1.system_priority_classes()}
    assert by_name["system-cluster-critical"]["value"] == 2000000000
    assert by_name["system-node-critical"]["value"] == 2000001000
    assert all(p["description"] and not p.get("globalDefault") for p in by_name.values())


def test_reserved_prefix_and_ceiling() -> None:
    prefix = "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only."
    assert messages(strategy().validate(created(pc("system-mine", 5)))) == [
        f"{prefix} error: system-mine is not a known system priority class"]
    assert messages(strategy().validate(created(pc("system-node-critical", 5)))) == [
        f"{prefix} error: value of system-node-critical PriorityClass must be 2000001000"]
    assert messages(strategy().validate(created(pc("system-cluster-critical", 2000000000, globalDefault=True)))) == [
        f"{prefix} error: globalDefault of system-cluster-critical PriorityClass must be false"]
    assert messages(strategy().validate(created(pc(value=1000000001)))) == [
        "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]


def test_preemption_policy_values() -> None:
    assert messages(strategy().validate(created(pc(preemptionPolicy="Sometimes")))) == [
        'preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"']


def test_update_immutability() -> None:
    old = created(pc(preemptionPolicy="Never"))
    new = copy.deepcopy(old)
    new["description"], new["globalDefault"] = "changed", True
    assert strategy().validate_update(new, old) == []
    assert not strategy().spec_changed(new, old)
    new["value"], new["preemptionPolicy"] = 7, "PreemptLowerPriority"
    assert messages(strategy().validate_update(new, old)) == [
        "value: Forbidden: may not be changed in an update.",
        'preemptionPolicy: Invalid value: "PreemptLowerPriority": field is immutable']
