import base64
import copy

from .conftest import create, msgs, strategy


def _meta(name="x"):
    return {"name": name, "namespace": "default"}


def test_secret_string_data_and_type() -> None:
    sec = create("secrets", {"metadata": _meta(), "data": {"a": base64.b64encode(b"old").decode()},
                             "stringData": {"a": "new", "b": "two"}})
    assert sec["type"] == "Opaque" and "stringData" not in sec
    assert base64.b64decode(sec["data"]["a"]) == b"new" and base64.b64decode(sec["data"]["b"]) == b"two"
    assert strategy("secrets").validate(sec) == []
    assert strategy("secrets").field_selectors["type"](sec) == "Opaque"
    tls = create("secrets", {"metadata": _meta(), "type": "kubernetes.io/tls", "data": {"tls.crt": ""}})
    assert msgs(strategy("secrets").validate(tls)) == ["data[tls.key]: Required value"]


def test_immutable_configmap_and_secret() -> None:
    for plural in ("configmaps", "secrets"):
        s = strategy(plural)
        old = create(plural, {"metadata": _meta(), "immutable": True, "data": {"k": "dg=="}})
        new = copy.deepcopy(old)
        new["data"]["k"] = "dw=="
        assert msgs(s.validate_update(new, old)) == ["data: Forbidden: field is immutable when `immutable` is set"]


def test_configmap_key_validation() -> None:
    cm = create("configmaps", {"metadata": _meta(), "data": {"bad/key": "v", "k": "v"}, "binaryData": {"k": ""}})
    got = msgs(strategy("configmaps").validate(cm))
    assert got[0].startswith('data[bad/key]: Invalid value: "bad/key": a valid config key must consist of')
    assert got[1] == 'data[k]: Invalid value: "k": duplicate of key present in binaryData'


def test_pvc_defaults_and_immutability() -> None:
    s = strategy("persistentvolumeclaims")
    pvc = create("persistentvolumeclaims", {"metadata": _meta(), "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    assert pvc["spec"]["volumeMode"] == "Filesystem" and pvc["status"] == {"phase": "Pending"}
    assert s.validate(pvc) == []
    bound = copy.deepcopy(pvc)
    bound["spec"]["volumeName"] = "pv1"
    assert s.validate_update(bound, pvc) == []  # binding fills volumeName
    bound["status"] = {"phase": "Bound"}
    grown = copy.deepcopy(bound)
    grown["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert s.validate_update(grown, bound) == []
    changed = copy.deepcopy(bound)
    changed["spec"]["accessModes"] = ["ReadWriteMany"]
    errs = s.validate_update(changed, bound)
    assert [e.field for e in errs] == ["spec"]
    assert errs[0].message.startswith("Forbidden: spec is immutable after creation except resources.requests and "
                                      "volumeAttributesClassName for "
                                      "bound claims\n")
    missing = create("persistentvolumeclaims", {"metadata": _meta(), "spec": {"accessModes": ["ReadWriteOnce"]}})
    assert msgs(s.validate(missing)) == ["spec.resources[storage]: Required value"]


def test_replication_controller() -> None:
    s = strategy("replicationcontrollers")
    rc = create("replicationcontrollers", {"metadata": _meta(), "spec": {"template": {
        "metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    assert rc["spec"]["replicas"] == 1 and rc["spec"]["selector"] == {"app": "x"}
    assert rc["metadata"]["labels"] == {"app": "x"} and rc["status"] == {"replicas": 0}
    assert s.validate(rc) == []
    assert s.field_selectors["status.replicas"](rc) == "0"
    rc["spec"]["selector"] = {"app": "y"}
    rc["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert msgs(s.validate(rc)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match '
        'template `labels`',
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']


def test_event_field_selectors() -> None:
    ev = create("events", {"metadata": _meta("e1"), "involvedObject": {"kind": "Pod", "name": "web",
                                                                        "namespace": "default"},
                           "reason": "Scheduled", "type": "Normal", "source": {"component": "default-scheduler"}})
    sel = strategy("events").field_selectors
    assert sel["involvedObject.kind"](ev) == "Pod" and sel["involvedObject.name"](ev) == "web"
    assert sel["reason"](ev) == "Scheduled" and sel["source"](ev) == "default-scheduler"
    assert sel["involvedObject.uid"](ev) == ""
    assert strategy("events").validate(ev) == []
    ev["involvedObject"]["namespace"] = "other"
    assert msgs(strategy("events").validate(ev)) == [
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace']


def test_limit_range_defaults() -> None:
    lr = create("limitranges", {"metadata": _meta(), "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "1Mi"}}]}})
    item = lr["spec"]["limits"][0]
    assert item["default"] == {"cpu": "2"} and item["defaultRequest"] == {"cpu": "2", "memory": "1Mi"}
    assert strategy("limitranges").validate(lr) == []


def test_quota_and_service_account() -> None:
    q = create("resourcequotas", {"metadata": _meta(), "spec": {"hard": {"pods": "-1"}}, "status": {"used": {}}})
    assert "status" not in q
    assert msgs(strategy("resourcequotas").validate(q)) == [
        'spec.hard[pods]: Invalid value: "-1": must be greater than or equal to 0']
    sa = create("serviceaccounts", {"metadata": _meta("builder")})
    assert strategy("serviceaccounts").validate(sa) == []
