import copy

import pyk8s.api  # noqa: F401  (fills SCHEME)
from pyk8s.machinery.schema import REGISTRY
from pyk8s.machinery.scheme import SCHEME


def strategy(plural: str):
    return SCHEME.get("apps", "v1", plural).strategy


def template(labels: dict[str, str] | None = None) -> dict:
    return {"metadata": {"labels": labels if labels is not None else {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def workload(kind: str, **spec) -> dict:
    body = {"selector": {"matchLabels": {"app": "web"}}, "template": template()}
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "web", "namespace": "default"}, "spec": body}


def messages(errs) -> list[str]:
    return [f"{e.field}: {e.message}" for e in errs]


def defaulted(plural: str, obj: dict) -> dict:
    strategy(plural).default(obj)
    return obj


def test_registration_metadata() -> None:
    for plural, short, subs in [("deployments", "deploy", ("status", "scale")), ("replicasets", "rs", ("status", "scale")),
                                ("statefulsets", "sts", ("status", "scale")), ("daemonsets", "ds", ("status",))]:
        rt = SCHEME.get("apps", "v1", plural)
        assert rt.short_names == (short,) and rt.categories == ("all",) and rt.subresources == subs
        assert rt.namespaced and REGISTRY.get(rt.schema).gvk == ("apps", "v1", rt.kind)
    assert SCHEME.get("apps", "v1", "controllerrevisions").categories == ()
    strategy_field = REGISTRY.get("io.k8s.api.apps.v1.DeploymentSpec").field("strategy")
    assert strategy_field.strategy == "retainKeys" and strategy_field.proto == 4
    conditions = REGISTRY.get("io.k8s.api.apps.v1.DeploymentStatus").field("conditions")
    assert conditions.merge_key == "type" and conditions.list_type == "map"
    assert REGISTRY.get("io.k8s.api.apps.v1.StatefulSetSpec").field("volumeClaimTemplates").list_type == "atomic"


def test_deployment_defaults() -> None:
    spec = defaulted("deployments", workload("Deployment"))["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    recreate = defaulted("deployments", workload("Deployment", strategy={"type": "Recreate"}, replicas=0))["spec"]
    assert recreate["strategy"] == {"type": "Recreate"} and recreate["replicas"] == 0


def test_deployment_valid_after_defaults() -> None:
    obj = defaulted("deployments", workload("Deployment"))
    assert strategy("deployments").validate(obj) == []


def test_deployment_selector_mismatch_and_missing() -> None:
    obj = defaulted("deployments", workload("Deployment", template=template({"app": "other", "tier": "x"})))
    assert messages(strategy("deployments").validate(obj)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other", "tier":"x"}: '
        "`selector` does not match template `labels`"]
    obj = defaulted("deployments", workload("Deployment"))
    del obj["spec"]["selector"]
    assert messages(strategy("deployments").validate(obj)) == [
        "spec.selector: Required value",
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
        "`selector` does not match template `labels`"]


def test_deployment_rolling_update_checks() -> None:
    obj = defaulted("deployments", workload("Deployment", strategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}))
    assert messages(strategy("deployments").validate(obj)) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: "
        "may not be 0 when `maxSurge` is 0"]
    obj["spec"]["strategy"]["rollingUpdate"] = {"maxUnavailable": "150%", "maxSurge": 1}
    assert messages(strategy("deployments").validate(obj)) == [
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, '
        'StrVal:"150%"}: must not be greater than 100%']
    obj["spec"]["strategy"] = {"type": "Recreate", "rollingUpdate": {}}
    assert messages(strategy("deployments").validate(obj)) == [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"]


def test_deployment_numbers() -> None:
    obj = defaulted("deployments", workload("Deployment", replicas=-1, revisionHistoryLimit=-2,
                                            progressDeadlineSeconds=5, minReadySeconds=10))
    assert messages(strategy("deployments").validate(obj)) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0",
        "spec.progressDeadlineSeconds: Invalid value: 5: must be greater than minReadySeconds"]


def test_deployment_template_restart_policy() -> None:
    tpl = template()
    tpl["spec"]["restartPolicy"] = "Never"
    obj = defaulted("deployments", workload("Deployment", template=tpl))
    assert messages(strategy("deployments").validate(obj)) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"']


def test_selector_immutable_on_update() -> None:
    for plural, kind in [("deployments", "Deployment"), ("replicasets", "ReplicaSet"), ("daemonsets", "DaemonSet")]:
        old = defaulted(plural, workload(kind))
        new = copy.deepcopy(old)
        new["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
        new["spec"]["template"]["metadata"]["labels"]["v"] = "2"
        assert messages(strategy(plural).validate_update(new, old)) == [
            'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "v":"2"}, '
            "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"], plural
        new = copy.deepcopy(old)
        new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
        assert strategy(plural).validate_update(new, old) == []


def test_prepare_for_create_resets_status() -> None:
    obj = workload("ReplicaSet", replicas=2)
    obj["status"] = {"replicas": 7}
    strategy("replicasets").prepare_for_create(obj)
    assert obj["status"] == {"replicas": 0} and obj["metadata"]["generation"] == 1
    ds = workload("DaemonSet")
    strategy("daemonsets").prepare_for_create(ds)
    assert ds["status"]["numberReady"] == 0
    assert ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "1"


def test_replicaset_defaults_and_empty_selector() -> None:
    obj = defaulted("replicasets", workload("ReplicaSet"))
    assert obj["spec"]["replicas"] == 1
    obj["spec"]["selector"] = {}
    assert messages(strategy("replicasets").validate(obj)) == [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"]


def test_statefulset_defaults() -> None:
    obj = workload("StatefulSet", serviceName="web", volumeClaimTemplates=[
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                "resources": {"requests": {"storage": "1Gi"}}}}])
    spec = defaulted("statefulsets", obj)["spec"]
    assert spec["replicas"] == 1 and spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]
    assert claim["spec"]["volumeMode"] == "Filesystem" and claim["status"] == {"phase": "Pending"}
    assert strategy("statefulsets").validate(obj) == []


def test_statefulset_forbidden_update() -> None:
    old = defaulted("statefulsets", workload("StatefulSet", serviceName="web"))
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    new["spec"]["updateStrategy"] = {"type": "OnDelete"}
    assert strategy("statefulsets").validate_update(new, old) == []
    new["spec"]["serviceName"] = "other"
    assert messages(strategy("statefulsets").validate_update(new, old)) == [
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
        "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' "
        "are forbidden"]


def test_statefulset_policy_checks() -> None:
    obj = defaulted("statefulsets", workload("StatefulSet", serviceName="web", podManagementPolicy="Fast"))
    obj["spec"]["persistentVolumeClaimRetentionPolicy"]["whenScaled"] = "Keep"
    assert messages(strategy("statefulsets").validate(obj)) == [
        "spec.podManagementPolicy: Invalid value: \"Fast\": must be 'OrderedReady' or 'Parallel'",
        'spec.persistentVolumeClaimRetentionPolicy.whenScaled: Unsupported value: "Keep": supported values: '
        '"Retain", "Delete"']


def test_daemonset_defaults_and_rolling_checks() -> None:
    obj = defaulted("daemonsets", workload("DaemonSet"))
    assert obj["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                             "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert obj["spec"]["revisionHistoryLimit"] == 10
    assert strategy("daemonsets").validate(obj) == []
    obj["spec"]["updateStrategy"]["rollingUpdate"] = {"maxUnavailable": 1, "maxSurge": 1}
    assert messages(strategy("daemonsets").validate(obj)) == [
        "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, "
        'StrVal:""}: may not be set when maxUnavailable is non-zero']


def test_daemonset_template_generation_bumps_on_template_change() -> None:
    old = defaulted("daemonsets", workload("DaemonSet"))
    strategy("daemonsets").prepare_for_create(old)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    strategy("daemonsets").prepare_for_update(new, old)
    assert new["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"


def test_status_update_checks() -> None:
    old = defaulted("deployments", workload("Deployment"))
    new = copy.deepcopy(old)
    new["status"] = {"replicas": 1, "readyReplicas": 2}
    assert messages(strategy("deployments").validate_status_update(new, old)) == [
        "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas"]


def test_controller_revision() -> None:
    s = strategy("controllerrevisions")
    obj = {"metadata": {"name": "web-abc", "namespace": "default"}, "revision": 1}
    assert messages(s.validate(obj)) == ["data: Required value: data is mandatory"]
    obj["data"] = {"spec": {}}
    assert s.validate(obj) == []
    new = copy.deepcopy(obj)
    new["data"] = {"spec": {"x": 1}}
    assert [e.field for e in s.validate_update(new, obj)] == ["data"]


def test_unknown_strategy_types() -> None:
    obj = defaulted("deployments", workload("Deployment", strategy={"type": "BlueGreen"}))
    assert messages(strategy("deployments").validate(obj)) == [
        'spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:"BlueGreen", '
        'RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: "Recreate", "RollingUpdate"']
    ds = defaulted("daemonsets", workload("DaemonSet", updateStrategy={"type": "Surge"}))
    assert [e.field for e in strategy("daemonsets").validate(ds)] == ["spec.updateStrategy"]


def test_statefulset_mounts_may_name_claim_templates() -> None:
    tpl = template()
    tpl["spec"]["containers"][0]["volumeMounts"] = [{"name": "data", "mountPath": "/data"}]
    obj = defaulted("statefulsets", workload("StatefulSet", serviceName="db", template=tpl, volumeClaimTemplates=[
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                "resources": {"requests": {"storage": "1Gi"}}}}]))
    assert strategy("statefulsets").validate(obj) == []
    # The same mount in a Deployment names no volume, which pod validation rejects.
    deploy = defaulted("deployments", workload("Deployment", template=copy.deepcopy(tpl)))
    assert any("volumeMounts" in e.field for e in strategy("deployments").validate(deploy))


def test_statefulset_name_is_dns_label() -> None:
    obj = defaulted("statefulsets", workload("StatefulSet", serviceName="db"))
    obj["metadata"]["name"] = "db.v1"
    assert [e.field for e in strategy("statefulsets").validate(obj)] == ["metadata.name"]
    deploy = defaulted("deployments", workload("Deployment"))
    deploy["metadata"]["name"] = "web.v1"
    assert strategy("deployments").validate(deploy) == []
