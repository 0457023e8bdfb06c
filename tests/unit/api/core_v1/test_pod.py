import copy

from pyk8s.api.core_v1.pod import default_pod_spec, qos_class, validate_pod_spec, validate_pod_template_spec

from .conftest import create, msgs, strategy


def test_pod_defaults(pod) -> None:
    obj = create("pods", pod)
    spec = obj["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["securityContext"] == {}
    assert spec["enableServiceLinks"] is True
    # Priority admission (registry), not defaulting, sets these.
    assert "priority" not in spec and "preemptionPolicy" not in spec
    ctr = spec["containers"][0]
    assert ctr["imagePullPolicy"] == "IfNotPresent"
    assert ctr["terminationMessagePath"] == "/dev/termination-log"
    assert ctr["terminationMessagePolicy"] == "File"
    assert ctr["ports"][0]["protocol"] == "TCP"
    assert obj["status"] == {"phase": "Pending", "qosClass": "BestEffort"}
    assert spec["serviceAccountName"] == "default" and spec["serviceAccount"] == "default"
    assert "tolerations" not in spec  # DefaultTolerationSeconds is admission's (the registry's), not defaulting
    assert strategy("pods").validate(obj) == []


def test_image_pull_policy_by_tag() -> None:
    for image, policy in [("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1", "IfNotPresent"),
                          ("reg:5000/nginx", "Always"), ("reg:5000/nginx:1", "IfNotPresent"),
                          ("nginx@sha256:abc", "IfNotPresent"), ("nginx:latest@sha256:abc", "Always")]:
        spec = {"containers": [{"name": "c", "image": image}]}
        default_pod_spec(spec)
        assert spec["containers"][0]["imagePullPolicy"] == policy, image


def test_probe_and_volume_defaults() -> None:
    spec = {"containers": [{"name": "c", "image": "x", "livenessProbe": {"httpGet": {"port": 80}}}],
            "volumes": [{"name": "a"}, {"name": "b", "configMap": {"name": "cm"}}]}
    default_pod_spec(spec)
    probe = spec["containers"][0]["livenessProbe"]
    assert (probe["timeoutSeconds"], probe["periodSeconds"], probe["successThreshold"],
            probe["failureThreshold"]) == (1, 10, 1, 3)
    assert probe["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}
    assert spec["volumes"][0]["emptyDir"] == {}
    assert spec["volumes"][1]["configMap"]["defaultMode"] == 420


def test_requests_default_to_limits_and_qos(pod) -> None:
    limits = {"limits": {"cpu": "0.5", "memory": "1Gi"}}
    template_spec = {"containers": [{"name": "c", "image": "x", "resources": copy.deepcopy(limits)}]}
    default_pod_spec(template_spec)  # templates keep requests empty and get no enableServiceLinks
    assert "requests" not in template_spec["containers"][0]["resources"]
    assert "enableServiceLinks" not in template_spec
    pod["spec"]["containers"][0]["resources"] = limits
    obj = create("pods", pod)
    assert obj["status"]["qosClass"] == "Guaranteed"
    spec = obj["spec"]
    res = spec["containers"][0]["resources"]
    assert res["requests"] == {"cpu": "500m", "memory": "1Gi"} and res["limits"]["cpu"] == "500m"
    assert qos_class(spec) == "Guaranteed"
    spec["containers"][0]["resources"]["requests"]["cpu"] = "100m"
    assert qos_class(spec) == "Burstable"
    assert qos_class({"containers": [{"name": "c"}]}) == "BestEffort"
    assert qos_class({"containers": [{"resources": {"requests": {"cpu": "1"}}}]}) == "Burstable"
    assert qos_class({"containers": [{"resources": {"limits": {"cpu": "1", "memory": "1"}}},
                                     {"resources": {}}]}) == "Burstable"


def test_existing_toleration_not_duplicated(pod) -> None:
    pod["spec"]["tolerations"] = [{"operator": "Exists"}]
    assert create("pods", pod)["spec"]["tolerations"] == [{"operator": "Exists"}]


def test_validation_messages(pod) -> None:
    pod["spec"]["containers"].append({"name": "nginx", "ports": [{"containerPort": 70000}]})
    pod["spec"]["restartPolicy"] = "Sometimes"
    obj = create("pods", pod)
    assert msgs(strategy("pods").validate(obj)) == [
        "spec.containers[1].image: Required value",
        "spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.containers[1].name: Duplicate value: "nginx"',
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    ]


def test_containers_required_and_bad_name() -> None:
    assert msgs(validate_pod_spec({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}, "spec")) == [
        "spec.containers: Required value"]
    spec = {"containers": [{"name": "Bad", "image": "x"}]}
    default_pod_spec(spec)
    errs = validate_pod_spec(spec, "spec")
    assert errs[0].field == "spec.containers[0].name"
    assert errs[0].message.startswith('Invalid value: "Bad": a lowercase RFC 1123 label must consist of')


def test_dns_policy_none_needs_dns_config() -> None:
    base = {"restartPolicy": "Always", "dnsPolicy": "None", "containers": [{"name": "c", "image": "x"}]}
    default_pod_spec(base)
    assert msgs(validate_pod_spec(base, "spec")) == [
        "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"]
    assert msgs(validate_pod_spec({**base, "dnsConfig": {"searches": ["a.example"]}}, "spec")) == [
        "spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"]
    assert msgs(validate_pod_spec({**base, "dnsConfig": {"nameservers": ["192.0.2.1"]}}, "spec")) == []


def test_resources_and_mounts() -> None:
    spec = {"containers": [{"name": "c", "image": "x",
                            "resources": {"limits": {"cpu": "100m"}, "requests": {"cpu": "200m"}},
                            "volumeMounts": [{"name": "nope", "mountPath": "/a"}]}],
            "volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]}
    default_pod_spec(spec)
    assert msgs(validate_pod_spec(spec, "spec")) == [
        'spec.volumes[1].name: Duplicate value: "v"',
        'spec.containers[0].volumeMounts[0].name: Not found: "nope"',
        'spec.containers[0].resources.requests[cpu]: Invalid value: "200m": must be less than or equal to cpu '
        'limit of 100m',
    ]


def test_probe_validation() -> None:
    spec = {"containers": [{"name": "c", "image": "x", "livenessProbe": {"successThreshold": 2},
                            "readinessProbe": {"exec": {"command": ["true"]}, "tcpSocket": {"port": 1}}}]}
    default_pod_spec(spec)
    assert msgs(validate_pod_spec(spec, "spec")) == [
        "spec.containers[0].livenessProbe: Required value: must specify a handler type",
        "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
        "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
    ]


def test_update_only_image_may_change(pod) -> None:
    s = strategy("pods")
    old = create("pods", pod)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.26"
    new["spec"]["activeDeadlineSeconds"] = 100
    new["spec"].setdefault("tolerations", []).append({"key": "k", "operator": "Exists"})  # adding is allowed
    s.default(new)
    assert s.validate_update(new, old) == []
    new["spec"]["containers"][0]["ports"][0]["containerPort"] = 81
    errs = s.validate_update(new, old)
    assert len(errs) == 1 and errs[0].field == "spec"
    assert errs[0].message.startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
        "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n")
    tolerant = copy.deepcopy(old)
    tolerant["spec"]["tolerations"] = [{"key": "k", "operator": "Exists"}]
    removed = copy.deepcopy(tolerant)
    removed["spec"]["tolerations"] = []
    assert [e.field for e in s.validate_update(removed, tolerant)] == ["spec"]


def test_update_metadata_name_immutable(pod) -> None:
    old = create("pods", pod)
    new = copy.deepcopy(old)
    new["metadata"]["name"] = "other"
    assert msgs(strategy("pods").validate_update(new, old)) == [
        'metadata.name: Invalid value: "other": field is immutable']


def test_field_selectors(pod) -> None:
    obj = create("pods", pod)
    obj["spec"]["nodeName"] = "n1"
    obj["status"]["podIPs"] = [{"ip": "10.0.0.5"}]
    sel = strategy("pods").field_selectors
    assert sel["spec.nodeName"](obj) == "n1"
    assert sel["status.phase"](obj) == "Pending"
    assert sel["status.podIP"](obj) == "10.0.0.5"
    assert sel["spec.hostNetwork"](obj) == "false"
    assert sel["spec.restartPolicy"](obj) == "Always"


def test_pod_template_spec_rejects_ephemeral() -> None:
    tmpl = {"metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "x"}], "ephemeralContainers": [{"name": "d",
                                                                                         "image": "x"}]}}
    default_pod_spec(tmpl["spec"])
    assert msgs(validate_pod_template_spec(tmpl, "spec.template")) == [
        "spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template"]
    assert msgs(validate_pod_template_spec(None, "spec.template")) == ["spec.template: Required value"]


def test_host_network_ports(pod) -> None:
    pod["spec"]["hostNetwork"] = True
    assert create("pods", pod)["spec"]["containers"][0]["ports"][0]["hostPort"] == 80


def test_service_account_alias(pod) -> None:
    pod["spec"]["serviceAccount"] = "builder"
    spec = create("pods", pod)["spec"]
    assert spec["serviceAccountName"] == "builder" and spec["serviceAccount"] == "builder"


def test_scheduling_gates_condition(pod) -> None:
    pod["spec"]["schedulingGates"] = [{"name": "example.com/wait"}]
    cond = create("pods", pod)["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("PodScheduled", "False", "SchedulingGated")


def test_ephemeral_containers_only_added(pod) -> None:
    from pyk8s.api.core_v1.pod import prepare_for_ephemeral_update, validate_ephemeral_update

    old = create("pods", pod)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "ignored"
    new["spec"]["ephemeralContainers"] = [{"name": "debugger", "image": "busybox", "targetContainerName": "nginx"}]
    prepare_for_ephemeral_update(new, old)
    assert new["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert new["spec"]["ephemeralContainers"][0]["imagePullPolicy"] == "Always"
    assert validate_ephemeral_update(new, old) == []
    removed = copy.deepcopy(old)
    prepare_for_ephemeral_update(removed, new)
    assert msgs(validate_ephemeral_update(removed, new)) == [
        'spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be removed\n']


def test_bind_pod(pod) -> None:
    import pytest

    from pyk8s.api.core_v1.pod import bind_pod
    from pyk8s.machinery.errors import StatusError

    obj = create("pods", pod)
    bind_pod(obj, {"target": {"kind": "Node", "name": "n1"}})
    assert obj["spec"]["nodeName"] == "n1"
    assert obj["status"]["conditions"][-1]["type"] == "PodScheduled"
    with pytest.raises(StatusError) as exc:
        bind_pod(obj, {"target": {"name": "n2"}})
    assert exc.value.code == 409
    assert exc.value.message == ('Operation cannot be fulfilled on pods/binding "web": pod web is already assigned '
                                 'to node "n1"')



def test_host_users_is_dropped_on_create_as_with_upstreams_gate_off(pod) -> None:
    pod["spec"]["hostUsers"] = False
    assert "hostUsers" not in create("pods", pod)["spec"]
