import copy

from .conftest import create, msgs, strategy


def _svc(**spec):
    return {"metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}}


def test_defaults() -> None:
    obj = create("services", _svc())
    spec = obj["spec"]
    assert spec["type"] == "ClusterIP" and spec["sessionAffinity"] == "None"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert "externalTrafficPolicy" not in spec
    assert obj["status"] == {"loadBalancer": {}}
    assert strategy("services").validate(obj) == []
    np = create("services", _svc(type="NodePort"))["spec"]
    assert np["externalTrafficPolicy"] == "Cluster"
    ext = create("services", _svc(type="ExternalName", externalName="example.com", ports=[]))["spec"]
    assert "ipFamilies" not in ext and "internalTrafficPolicy" not in ext


def test_validation() -> None:
    obj = create("services", _svc(type="Fancy", ports=[{"port": 80}, {"port": 80, "name": "b"}]))
    obj["metadata"]["name"] = "1web"
    got = msgs(strategy("services").validate(obj))
    assert got[0].startswith('metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case')
    assert got[1:] == [
        "spec.ports[0].name: Required value",
        'spec.type: Unsupported value: "Fancy": supported values: "ClusterIP", "ExternalName", "LoadBalancer", '
        '"NodePort"',
        'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), '
        'Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
    ]


def test_external_name_rules() -> None:
    obj = create("services", _svc(type="ExternalName", ports=[], clusterIP="10.0.0.1"))
    assert msgs(strategy("services").validate(obj)) == [
        "spec.clusterIP: Forbidden: must be empty for ExternalName services", "spec.externalName: Required value"]


def test_ports_required_unless_headless() -> None:
    s = strategy("services")
    assert msgs(s.validate(create("services", _svc(ports=[])))) == ["spec.ports: Required value"]
    assert s.validate(create("services", _svc(ports=[], clusterIP="None"))) == []


def test_node_port_forbidden_for_cluster_ip() -> None:
    obj = create("services", _svc(ports=[{"port": 80, "nodePort": 30001}]))
    assert msgs(strategy("services").validate(obj)) == [
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]


def test_cluster_ip_immutable_and_carried_over() -> None:
    s = strategy("services")
    old = create("services", _svc(type="NodePort"))
    old["spec"]["clusterIP"] = "10.96.0.10"
    old["spec"]["clusterIPs"] = ["10.96.0.10"]
    old["spec"]["ports"][0]["nodePort"] = 30080
    # a replace with the original manifest keeps the allocations
    new = copy.deepcopy(_svc(type="NodePort"))
    new["metadata"] = dict(old["metadata"])
    s.default(new)
    s.prepare_for_update(new, old)
    assert new["spec"]["clusterIP"] == "10.96.0.10" and new["spec"]["ports"][0]["nodePort"] == 30080
    assert s.validate_update(new, old) == []
    new["spec"]["clusterIP"] = "10.96.0.11"
    new["spec"]["clusterIPs"] = ["10.96.0.11"]
    assert msgs(s.validate_update(new, old)) == [
        'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set']


def test_switch_to_cluster_ip_drops_node_ports() -> None:
    s = strategy("services")
    old = create("services", _svc(type="NodePort"))
    old["spec"]["ports"][0]["nodePort"] = 30080
    new = copy.deepcopy(old)
    new["spec"]["type"] = "ClusterIP"
    s.prepare_for_update(new, old)
    assert "nodePort" not in new["spec"]["ports"][0] and "externalTrafficPolicy" not in new["spec"]
    assert s.validate_update(new, old) == []


def test_endpoints_default_protocol() -> None:
    ep = create("endpoints", {"metadata": {"name": "web", "namespace": "default"},
                              "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]})
    assert ep["subsets"][0]["ports"][0]["protocol"] == "TCP"
    assert strategy("endpoints").validate(ep) == []


def test_load_balancer_source_ranges() -> None:
    s = strategy("services")
    ok = create("services", _svc(type="LoadBalancer", loadBalancerSourceRanges=["10.0.0.0/8", " 192.168.1.5/32"]))
    assert s.validate(ok) == []
    bad = create("services", _svc(loadBalancerSourceRanges=["59.100.192.6", "10.0.0.0/8"]))
    assert msgs(s.validate(bad)) == [
        "spec.LoadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'",
        'spec.LoadBalancerSourceRanges: Invalid value: "[59.100.192.6 10.0.0.0/8]": must be a list of IP ranges. '
        "For example, 10.240.0.0/24,10.250.0.0/24 ",
    ]
    annotated = create("services", _svc(type="LoadBalancer"))
    annotated["metadata"]["annotations"] = {"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8,x"}
    assert msgs(s.validate(annotated)) == [
        'metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Invalid value: '
        '"10.0.0.0/8,x": must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 ']
