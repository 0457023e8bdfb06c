import copy
import json

import pyk8s.api  # noqa: F401  (fills SCHEME)
from pyk8s.api import autoscaling, events_v1
from pyk8s.machinery.schema import REGISTRY
from pyk8s.machinery.scheme import SCHEME


def strategy(group: str, version: str, plural: str):
    return SCHEME.get(group, version, plural).strategy


def messages(errs) -> list[str]:
    return [f"{e.field}: {e.message}" for e in errs]


def meta(name: str = "x", namespace: str | None = "default") -> dict:
    return {"name": name, "namespace": namespace} if namespace else {"name": name}


def test_group_order_and_preferred_versions() -> None:
    groups = SCHEME.groups()
    order = ["apps", "batch", "autoscaling", "networking.k8s.io", "discovery.k8s.io", "coordination.k8s.io",
             "rbac.authorization.k8s.io", "storage.k8s.io", "policy", "events.k8s.io", "authorization.k8s.io",
             "authentication.k8s.io"]
    assert [g for g in groups if g in order] == order
    assert SCHEME.versions("autoscaling") == ["v2", "v1"]


def test_scopes_short_names_and_verbs() -> None:
    cases = [("rbac.authorization.k8s.io", "clusterroles", False), ("rbac.authorization.k8s.io", "roles", True),
             ("storage.k8s.io", "storageclasses", False), ("networking.k8s.io", "ingressclasses", False),
             ("networking.k8s.io", "ingresses", True), ("coordination.k8s.io", "leases", True)]
    for group, plural, namespaced in cases:
        assert SCHEME.get(group, "v1", plural).namespaced is namespaced, plural
    assert SCHEME.get("networking.k8s.io", "v1", "ingresses").short_names == ("ing",)
    assert SCHEME.get("networking.k8s.io", "v1", "networkpolicies").short_names == ("netpol",)
    assert SCHEME.get("policy", "v1", "poddisruptionbudgets").short_names == ("pdb",)
    assert SCHEME.get("storage.k8s.io", "v1", "storageclasses").short_names == ("sc",)
    hpa = SCHEME.get("autoscaling", "v2", "horizontalpodautoscalers")
    assert hpa.short_names == ("hpa",) and hpa.categories == ("all",) and hpa.subresources == ("status",)
    ssar = SCHEME.get("authorization.k8s.io", "v1", "selfsubjectaccessreviews")
    assert ssar.verbs == ("create",) and not ssar.namespaced
    assert SCHEME.get("authorization.k8s.io", "v1", "localsubjectaccessreviews").namespaced
    assert SCHEME.get("authentication.k8s.io", "v1", "selfsubjectreviews").verbs == ("create",)
    assert REGISTRY.get("io.k8s.api.authorization.v1.SelfSubjectAccessReviewSpec").field("resourceAttributes").proto == 1
    assert REGISTRY.get("io.k8s.api.autoscaling.v1.Scale").gvk == ("autoscaling", "v1", "Scale")
    assert REGISTRY.get("io.k8s.api.rbac.v1.Role").field("rules").list_type == "atomic"


# ---------------------------------------------------------------- autoscaling


def hpa_v1() -> dict:
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": meta("web"),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 60},
            "status": {"currentReplicas": 2, "desiredReplicas": 3, "currentCPUUtilizationPercentage": 70}}


def test_hpa_v1_to_v2_and_back() -> None:
    v2 = autoscaling.hpa_v1_to_v2(hpa_v1())
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]
    assert v2["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 70
    assert autoscaling.hpa_v2_to_v1(v2) == hpa_v1()


def test_hpa_v2_extras_survive_v1_round_trip() -> None:
    v2 = autoscaling.hpa_v1_to_v2(hpa_v1())
    v2["spec"]["metrics"].append({"type": "Pods", "pods": {"metric": {"name": "qps"},
                                                          "target": {"type": "AverageValue", "averageValue": "10"}}})
    v2["spec"]["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    v2["status"]["conditions"] = [{"type": "AbleToScale", "status": "True"}]
    v1 = autoscaling.hpa_v2_to_v1(v2)
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 60 and "metrics" not in v1["spec"]
    assert json.loads(v1["metadata"]["annotations"][autoscaling.ANNOTATION_METRICS])[0]["type"] == "Pods"
    assert autoscaling.hpa_v1_to_v2(v1) == v2


def test_hpa_defaults_and_validation() -> None:
    s = strategy("autoscaling", "v2", "horizontalpodautoscalers")
    obj = {"metadata": meta("web"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                              "maxReplicas": 3, "behavior": {}}}
    s.default(obj)
    spec = obj["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 80}
    assert spec["behavior"]["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4, "periodSeconds": 15}
    assert spec["behavior"]["scaleDown"]["selectPolicy"] == "Max"
    assert s.validate(obj) == []
    spec["minReplicas"], spec["maxReplicas"] = 4, 2
    assert messages(s.validate(obj)) == [
        "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"]
    v1_strategy = strategy("autoscaling", "v1", "horizontalpodautoscalers")
    bad = hpa_v1()
    bad["spec"]["minReplicas"] = 0
    assert messages(v1_strategy.validate(bad)) == [
        "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
        "spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero "
        "replicas"]


def test_scale_helpers() -> None:
    deploy = {"metadata": {"name": "web", "namespace": "default", "uid": "u", "resourceVersion": "7",
                           "labels": {"a": "b"}},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}}, "status": {"replicas": 2}}
    scale = autoscaling.scale_of(deploy)
    assert scale == {"kind": "Scale", "apiVersion": "autoscaling/v1",
                     "metadata": {"name": "web", "namespace": "default", "uid": "u", "resourceVersion": "7"},
                     "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "app=web"}}
    updated = autoscaling.apply_scale(deploy, {"spec": {"replicas": 5}})
    assert updated["spec"]["replicas"] == 5 and deploy["spec"]["replicas"] == 3
    assert messages(autoscaling.validate_scale({"spec": {"replicas": -1}})) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"]


# ---------------------------------------------------------------- networking


def ingress(**spec) -> dict:
    return {"metadata": meta("web"), "spec": spec}


def test_ingress_validation() -> None:
    s = strategy("networking.k8s.io", "v1", "ingresses")
    good = ingress(rules=[{"host": "example.com", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}])
    assert s.validate(good) == []
    assert messages(s.validate(ingress())) == [
        "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be specified"]
    bad = copy.deepcopy(good)
    path = bad["spec"]["rules"][0]["http"]["paths"][0]
    del path["pathType"]
    assert messages(s.validate(bad)) == [
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"]
    path["pathType"], path["path"] = "Exact", "foo"
    path["backend"]["service"]["port"] = {}
    assert messages(s.validate(bad)) == [
        'spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path',
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required"]
    bad["spec"]["rules"][0]["host"] = "10.0.0.1"
    assert "must be a DNS name, not an IP address" in messages(s.validate(bad))[0]


def test_ingress_class_and_network_policy() -> None:
    ic = strategy("networking.k8s.io", "v1", "ingressclasses")
    obj = {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx",
                                                   "parameters": {"kind": "Config", "name": "c"}}}
    ic.default(obj)
    assert obj["spec"]["parameters"]["scope"] == "Cluster" and ic.validate(obj) == []
    new = copy.deepcopy(obj)
    new["spec"]["controller"] = "other.io/x"
    assert [e.field for e in ic.validate_update(new, obj)] == ["spec.controller"]
    np = strategy("networking.k8s.io", "v1", "networkpolicies")
    pol = {"metadata": meta("deny"), "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}}
    np.default(pol)
    assert pol["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert pol["spec"]["egress"][0]["ports"][0]["protocol"] == "TCP"
    assert np.validate(pol) == []
    pol["spec"]["ingress"] = [{"from": [{}]}]
    assert messages(np.validate(pol)) == ["spec.ingress[0].from[0]: Required value: must specify a peer"]


# ---------------------------------------------------------------- discovery, coordination


def test_endpoint_slice() -> None:
    s = strategy("discovery.k8s.io", "v1", "endpointslices")
    obj = {"metadata": meta("web-abc"), "addressType": "IPv4",
           "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": True}}], "ports": [{"port": 80}]}
    s.default(obj)
    assert obj["ports"][0] == {"port": 80, "protocol": "TCP", "name": ""}
    assert s.validate(obj) == []
    obj["endpoints"][0]["addresses"] = ["fe80::1"]
    assert messages(s.validate(obj)) == ['endpoints[0].addresses[0]: Invalid value: "fe80::1": must be an IPv4 address']
    new = copy.deepcopy(obj)
    new["addressType"] = "IPv6"
    assert "addressType" in [e.field for e in s.validate_update(new, obj)]


def test_lease() -> None:
    s = strategy("coordination.k8s.io", "v1", "leases")
    assert not s.has_status and not s.tracks_generation
    obj = {"metadata": meta("node1", "kube-node-lease"), "spec": {"holderIdentity": "node1",
                                                                  "leaseDurationSeconds": 0}}
    assert messages(s.validate(obj)) == ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]


# ---------------------------------------------------------------- rbac


def test_rbac_rules() -> None:
    role = strategy("rbac.authorization.k8s.io", "v1", "roles")
    obj = {"metadata": meta("reader"), "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}
    assert role.validate(obj) == []
    obj["rules"].append({"verbs": [], "nonResourceURLs": ["/healthz"]})
    assert messages(role.validate(obj)) == [
        "rules[1].verbs: Required value: verbs must contain at least one value",
        'rules[1].nonResourceURLs: Invalid value: []string{"/healthz"}: namespaced rules cannot apply to '
        "non-resource URLs"]
    cluster = strategy("rbac.authorization.k8s.io", "v1", "clusterroles")
    assert cluster.validate({"metadata": {"name": "system:metrics"},
                             "rules": [{"verbs": ["get"], "nonResourceURLs": ["/metrics"]}]}) == []
    assert messages(cluster.validate({"metadata": {"name": "a/b"}})) == [
        "metadata.name: Invalid value: \"a/b\": may not contain '/'"]


def test_rbac_bindings() -> None:
    s = strategy("rbac.authorization.k8s.io", "v1", "rolebindings")
    obj = {"metadata": meta("rb"), "roleRef": {"kind": "Role", "name": "reader"},
           "subjects": [{"kind": "User", "name": "jane"}, {"kind": "ServiceAccount", "name": "default"}]}
    s.default(obj)
    assert obj["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
    assert obj["subjects"][0]["apiGroup"] == "rbac.authorization.k8s.io" and obj["subjects"][1]["apiGroup"] == ""
    assert s.validate(obj) == []
    new = copy.deepcopy(obj)
    new["roleRef"]["name"] = "writer"
    assert messages(s.validate_update(new, obj)) == [
        'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"writer"}: '
        "cannot change roleRef"]
    crb = strategy("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
    bad = {"metadata": {"name": "crb"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                    "name": "r"},
           "subjects": [{"kind": "ServiceAccount", "name": "sa"}]}
    assert messages(crb.validate(bad)) == [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "subjects[0].namespace: Required value"]


# ---------------------------------------------------------------- storage, policy


def test_storage_class() -> None:
    s = strategy("storage.k8s.io", "v1", "storageclasses")
    obj = {"metadata": {"name": "local"}, "provisioner": "rancher.io/local-path", "parameters": {"a": "b"}}
    s.default(obj)
    assert obj["reclaimPolicy"] == "Delete" and obj["volumeBindingMode"] == "Immediate"
    assert s.validate(obj) == []
    new = copy.deepcopy(obj)
    new["parameters"] = {"a": "c"}
    new["reclaimPolicy"] = "Retain"
    assert messages(s.validate_update(new, obj)) == [
        "parameters: Forbidden: updates to parameters are forbidden.",
        "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden."]


def test_pdb() -> None:
    s = strategy("policy", "v1", "poddisruptionbudgets")
    obj = {"metadata": meta("pdb"), "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}}
    assert s.validate(obj) == []
    s.prepare_for_create(obj)
    assert obj["status"]["disruptionsAllowed"] == 0 and obj["metadata"]["generation"] == 1
    obj["spec"]["maxUnavailable"] = 1
    assert [e.message.endswith("minAvailable and maxUnavailable cannot be both set") for e in s.validate(obj)] == [True]
    assert REGISTRY.get("io.k8s.api.policy.v1.PodDisruptionBudgetSpec").field("selector").strategy == "replace"
    assert REGISTRY.get("io.k8s.api.policy.v1.Eviction").gvk == ("policy", "v1", "Eviction")


# ---------------------------------------------------------------- events


def core_event() -> dict:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"}, "reason": "Started",
            "message": "Started container", "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:05Z", "count": 2,
            "type": "Normal", "reportingComponent": "kubelet", "reportingInstance": "n1"}


def test_event_conversion_round_trip() -> None:
    v1 = events_v1.core_event_to_events_v1(core_event())
    assert v1["apiVersion"] == "events.k8s.io/v1" and v1["note"] == "Started container"
    assert v1["regarding"]["name"] == "web" and v1["reportingController"] == "kubelet"
    assert v1["deprecatedSource"] == {"component": "kubelet", "host": "n1"} and v1["deprecatedCount"] == 2
    assert "message" not in v1 and "involvedObject" not in v1
    assert events_v1.events_v1_to_core_event(v1) == core_event()


def test_events_v1_strict_validation() -> None:
    s = strategy("events.k8s.io", "v1", "events")
    good = {"metadata": meta("e1"), "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "x.io/ctl",
            "reportingInstance": "ctl-1", "action": "Scale", "reason": "Scaled", "type": "Normal",
            "regarding": {"kind": "Deployment", "name": "web", "namespace": "default"}}
    assert s.validate(good) == []
    bad = dict(good, type="Info", deprecatedCount=3)
    del bad["eventTime"]
    assert messages(s.validate(bad)) == [
        "eventTime: Required value", 'type: Invalid value: "": has invalid value: Info',
        'deprecatedCount: Invalid value: "": needs to be unset']


# ---------------------------------------------------------------- reviews


def test_access_reviews() -> None:
    ssar = strategy("authorization.k8s.io", "v1", "selfsubjectaccessreviews")
    obj = {"metadata": {"creationTimestamp": None},
           "spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}}}
    assert ssar.validate(obj) == []
    assert messages(ssar.validate({"spec": {}})) == [
        "spec.resourceAttributes: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes "
        "must be specified"]
    sar = strategy("authorization.k8s.io", "v1", "subjectaccessreviews")
    assert [e.field for e in sar.validate({"spec": {"nonResourceAttributes": {"path": "/", "verb": "get"}}})] == [
        "spec.user"]
    lsar = strategy("authorization.k8s.io", "v1", "localsubjectaccessreviews")
    local = {"metadata": {"namespace": "a"}, "spec": {"user": "u", "resourceAttributes": {"namespace": "b"}}}
    assert [e.field for e in lsar.validate(local)] == ["spec.resourceAttributes.namespace"]


def test_events_v1_update_only_series_and_metadata() -> None:
    s = strategy("events.k8s.io", "v1", "events")
    old = {"metadata": meta("e1"), "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "x.io/ctl",
           "reportingInstance": "ctl-1", "action": "Scale", "reason": "Scaled", "type": "Normal", "note": "a"}
    new = copy.deepcopy(old)
    new["series"] = {"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"}
    assert s.validate_update(new, old) == []
    new["note"] = "b"
    assert messages(s.validate_update(new, old)) == ['message: Invalid value: "b": field is immutable']


GROUP_PREFIXES = ("io.k8s.api.apps.", "io.k8s.api.batch.", "io.k8s.api.autoscaling.", "io.k8s.api.networking.",
                  "io.k8s.api.discovery.", "io.k8s.api.coordination.", "io.k8s.api.rbac.", "io.k8s.api.storage.",
                  "io.k8s.api.policy.", "io.k8s.api.events.", "io.k8s.api.authorization.",
                  "io.k8s.api.authentication.")


def test_group_schemas_resolve_and_are_described() -> None:
    from pyk8s.machinery.schema import ArrayOf, MapOf, Ref

    def refs(t):
        if isinstance(t, Ref):
            yield t.name
        elif isinstance(t, (ArrayOf, MapOf)):
            yield from refs(t.items if isinstance(t, ArrayOf) else t.values)

    ours = [s for s in REGISTRY.all() if s.name.startswith(GROUP_PREFIXES)]
    assert len(ours) > 100
    for schema in ours:
        assert schema.description, schema.name
        for fld in schema.fields:
            assert fld.description, (schema.name, fld.name)
            for name in refs(fld.type):
                assert REGISTRY.get(name) is not None, (schema.name, fld.name, name)
    mine = {"apps", "batch", "autoscaling", "networking.k8s.io", "discovery.k8s.io", "coordination.k8s.io",
            "rbac.authorization.k8s.io", "storage.k8s.io", "policy", "events.k8s.io", "authorization.k8s.io",
            "authentication.k8s.io"}
    for rt in SCHEME.all():
        if rt.group in mine:
            assert REGISTRY.get(rt.schema).gvk == (rt.group, rt.version, rt.kind), rt.plural


def test_hpa_metric_checks() -> None:
    s = strategy("autoscaling", "v2", "horizontalpodautoscalers")
    base = {"metadata": meta("web"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                               "minReplicas": 1, "maxReplicas": 3}}
    obj = copy.deepcopy(base)
    obj["spec"]["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}},
                              {"type": "Pods", "pods": {"metric": {"name": "qps"},
                                                        "target": {"type": "AverageValue", "averageValue": "0"}}},
                              {"type": "External"}]
    assert messages(s.validate(obj)) == [
        "spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value "
        "or a target utilization",
        'spec.metrics[1].pods.target.averageValue: Invalid value: "0": must be positive',
        "spec.metrics[2].external: Required value: must populate information for the given metric source"]
    obj["spec"]["metrics"] = [{"type": "Pods", "pods": {"metric": {"name": "qps"},
                                                        "target": {"type": "AverageValue", "averageValue": "10"}}}]
    assert s.validate(obj) == []


def test_hpa_behavior_checks() -> None:
    s = strategy("autoscaling", "v2", "horizontalpodautoscalers")
    obj = {"metadata": meta("web"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
                                              "maxReplicas": 3,
                                              "behavior": {"scaleDown": {"stabilizationWindowSeconds": 4000,
                                                                         "policies": [{"type": "Pods", "value": 0,
                                                                                       "periodSeconds": 60}]}}}}
    s.default(obj)
    assert messages(s.validate(obj)) == [
        "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 4000: must be less than or equal to 3600",
        "spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero"]
