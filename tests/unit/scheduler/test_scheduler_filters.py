"""Each filter plugin's verdicts and exact upstream reason strings."""

from __future__ import annotations

from pyk8s.scheduler.plugins import (
    interpodaffinity,
    nodeaffinity,
    nodename,
    nodeports,
    noderesourcesfit,
    nodeunschedulable,
    podtopologyspread,
    tainttoleration,
    volumebinding,
)

from .builders import node, pod
from .helpers import filter_all

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def test_node_name() -> None:
    got = filter_all(nodename.NodeName(), pod("p", node_name="b"), [node("a"), node("b")])
    assert got == {"a": "node(s) didn't match the requested node name", "b": None}
    assert filter_all(nodename.NodeName(), pod("p"), [node("a")]) == {"a": None}


def test_node_unschedulable_and_its_toleration() -> None:
    nodes = [node("a", unschedulable=True), node("b")]
    assert filter_all(nodeunschedulable.NodeUnschedulable(), pod("p"), nodes) == {"a": "node(s) were unschedulable", "b": None}
    tol = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]
    assert filter_all(nodeunschedulable.NodeUnschedulable(), pod("p", tolerations=tol), nodes) == {"a": None, "b": None}


def test_taints_noschedule_and_tolerations() -> None:
    nodes = [node("cp", taints=[CP_TAINT]), node("gpu", taints=[{"key": "gpu", "value": "true", "effect": "NoExecute"}]),
             node("soft", taints=[{"key": "x", "effect": "PreferNoSchedule"}])]
    got = filter_all(tainttoleration.TaintToleration(), pod("p"), nodes)
    assert got == {
        "cp": "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
        "gpu": "node(s) had untolerated taint {gpu: true}",
        "soft": None,
    }
    tols = [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"},
            {"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoExecute"}]
    assert set(filter_all(tainttoleration.TaintToleration(), pod("p", tolerations=tols), nodes).values()) == {None}
    wrong_value = [{"key": "gpu", "operator": "Equal", "value": "false"}]
    assert filter_all(tainttoleration.TaintToleration(), pod("p", tolerations=wrong_value), nodes)["gpu"] is not None
    everything = [{"operator": "Exists"}]
    assert set(filter_all(tainttoleration.TaintToleration(), pod("p", tolerations=everything), nodes).values()) == {None}


def test_resources_fit_reasons() -> None:
    nodes = [node("small", cpu="1", memory="1Gi"), node("full", pods="0"), node("big")]
    got = filter_all(noderesourcesfit.NodeResourcesFit(), pod("p", cpu="2", memory="2Gi"), nodes)
    assert got == {"small": "Insufficient cpu, Insufficient memory", "full": "Too many pods", "big": None}


def test_resources_fit_counts_existing_pods_and_extended_resources() -> None:
    nodes = [node("a", cpu="2", extra={"example.com/gpu": "1"})]
    existing = [pod("e", cpu="1500m", node_name="a")]
    got = filter_all(noderesourcesfit.NodeResourcesFit(), pod("p", cpu="600m"), nodes, existing)
    assert got == {"a": "Insufficient cpu"}
    gpu_pod = pod("g")
    gpu_pod["spec"]["containers"][0]["resources"] = {"limits": {"example.com/gpu": "2"}}
    assert filter_all(noderesourcesfit.NodeResourcesFit(), gpu_pod, nodes, existing) == {"a": "Insufficient example.com/gpu"}


def test_init_containers_take_the_max() -> None:
    p = pod("p", cpu="500m")
    p["spec"]["initContainers"] = [{"name": "i", "image": "x", "resources": {"requests": {"cpu": "3"}}}]
    got = filter_all(noderesourcesfit.NodeResourcesFit(), p, [node("a", cpu="2"), node("b", cpu="3")])
    assert got == {"a": "Insufficient cpu", "b": None}


def test_host_ports() -> None:
    def with_port(name: str, port: int, node_name: str | None = None, ip: str = "") -> dict:
        p = pod(name, node_name=node_name)
        p["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": port, "hostIP": ip}]
        return p

    existing = [with_port("e", 8080, "a")]
    nodes = [node("a"), node("b")]
    got = filter_all(nodeports.NodePorts(), with_port("p", 8080), nodes, existing)
    assert got == {"a": "node(s) didn't have free ports for the requested pod ports", "b": None}
    assert filter_all(nodeports.NodePorts(), with_port("p", 9090), nodes, existing) == {"a": None, "b": None}


def _affinity(*terms: dict) -> dict:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def test_node_selector_and_affinity_operators() -> None:
    nodes = [node("a", labels={"zone": "z1", "cores": "8"}), node("b", labels={"zone": "z2", "cores": "2"}), node("c")]
    reason = "node(s) didn't match Pod's node affinity/selector"
    got = filter_all(nodeaffinity.NodeAffinity(), pod("p", nodeSelector={"zone": "z1"}), nodes)
    assert got == {"a": None, "b": reason, "c": reason}
    gt = _affinity({"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["4"]}]})
    assert filter_all(nodeaffinity.NodeAffinity(), pod("p", affinity=gt), nodes) == {"a": None, "b": reason, "c": reason}
    absent = _affinity({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]})
    assert filter_all(nodeaffinity.NodeAffinity(), pod("p", affinity=absent), nodes) == {"a": reason, "b": reason, "c": None}
    either = _affinity({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["z1"]}, {"key": "zone", "operator": "Exists"}]},
                       {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["c"]}]})
    assert filter_all(nodeaffinity.NodeAffinity(), pod("p", affinity=either), nodes) == {"a": reason, "b": None, "c": None}


def test_empty_term_matches_nothing() -> None:
    got = filter_all(nodeaffinity.NodeAffinity(), pod("p", affinity=_affinity({})), [node("a")])
    assert got == {"a": "node(s) didn't match Pod's node affinity/selector"}


def _anti(app: str, key: str = "kubernetes.io/hostname") -> dict:
    return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}}


def _aff(app: str, key: str = "zone") -> dict:
    return {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}}


def test_pod_anti_affinity_by_hostname_and_zone() -> None:
    nodes = [node("a", labels={"zone": "z1"}), node("b", labels={"zone": "z1"}), node("c", labels={"zone": "z2"})]
    existing = [pod("web-1", labels={"app": "web"}, node_name="a")]
    plugin = interpodaffinity.InterPodAffinity()
    got = filter_all(plugin, pod("web-2", labels={"app": "web"}, affinity=_anti("web")), nodes, existing)
    assert got == {"a": "node(s) didn't match pod anti-affinity rules", "b": None, "c": None}
    got = filter_all(plugin, pod("web-2", labels={"app": "web"}, affinity=_anti("web", "zone")), nodes, existing)
    assert got == {"a": "node(s) didn't match pod anti-affinity rules", "b": "node(s) didn't match pod anti-affinity rules", "c": None}


def test_existing_pods_anti_affinity_is_symmetric() -> None:
    nodes = [node("a"), node("b")]
    existing = [pod("guard", labels={"app": "guard"}, node_name="a", affinity=_anti("web"))]
    got = filter_all(interpodaffinity.InterPodAffinity(), pod("w", labels={"app": "web"}), nodes, existing)
    assert got == {"a": "node(s) didn't satisfy existing pods anti-affinity rules", "b": None}
    # Other namespaces are not covered by the default (own namespace) term.
    got = filter_all(interpodaffinity.InterPodAffinity(), pod("w", namespace="other", labels={"app": "web"}), nodes, existing)
    assert got == {"a": None, "b": None}


def test_pod_affinity_and_first_pod_of_group() -> None:
    nodes = [node("a", labels={"zone": "z1"}), node("b", labels={"zone": "z2"}), node("c")]
    plugin = interpodaffinity.InterPodAffinity()
    existing = [pod("db", labels={"app": "db"}, node_name="a")]
    reason = "node(s) didn't match pod affinity rules"
    got = filter_all(plugin, pod("web", labels={"app": "web"}, affinity=_aff("db")), nodes, existing)
    assert got == {"a": None, "b": reason, "c": reason}
    # No db pod anywhere: a web pod with affinity to db cannot go anywhere ...
    got = filter_all(plugin, pod("web", labels={"app": "web"}, affinity=_aff("db")), nodes)
    assert got == {"a": reason, "b": reason, "c": reason}
    # ... but the first pod of a self-affine group may go wherever the topology exists.
    got = filter_all(plugin, pod("db2", labels={"app": "db"}, affinity=_aff("db")), nodes)
    assert got == {"a": None, "b": None, "c": reason}


def test_namespace_selector_uses_namespace_labels() -> None:
    nodes = [node("a"), node("b")]
    existing = [pod("x", namespace="team-a", labels={"app": "x"}, node_name="a")]
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname",
        "namespaceSelector": {"matchLabels": {"team": "a"}}}]}}
    labels = {"team-a": {"team": "a"}}
    plugin = interpodaffinity.InterPodAffinity(lambda ns: labels.get(ns))
    got = filter_all(plugin, pod("p", affinity=anti), nodes, existing)
    assert got == {"a": "node(s) didn't match pod anti-affinity rules", "b": None}


def _spread(max_skew: int = 1, key: str = "zone", when: str = "DoNotSchedule", **extra: object) -> list[dict]:
    return [{"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when,
             "labelSelector": {"matchLabels": {"app": "web"}}, **extra}]


def test_topology_spread_max_skew() -> None:
    nodes = [node("a", labels={"zone": "z1"}), node("b", labels={"zone": "z2"}), node("c")]
    existing = [pod("w1", labels={"app": "web"}, node_name="a")]
    got = filter_all(podtopologyspread.PodTopologySpread(), pod("w2", labels={"app": "web"}, topologySpreadConstraints=_spread()), nodes, existing)
    assert got == {
        "a": "node(s) didn't match pod topology spread constraints",
        "b": None,
        "c": "node(s) didn't match pod topology spread constraints (missing required label)",
    }
    got = filter_all(podtopologyspread.PodTopologySpread(), pod("w2", labels={"app": "web"}, topologySpreadConstraints=_spread(2)), nodes, existing)
    assert got["a"] is None


def test_topology_spread_min_domains() -> None:
    nodes = [node("a", labels={"zone": "z1"}), node("b", labels={"zone": "z2"})]
    existing = [pod("w1", labels={"app": "web"}, node_name="a"), pod("w2", labels={"app": "web"}, node_name="b")]
    spec = _spread(1, minDomains=3)
    got = filter_all(podtopologyspread.PodTopologySpread(), pod("w3", labels={"app": "web"}, topologySpreadConstraints=spec), nodes, existing)
    # Fewer domains than minDomains: the global minimum counts as 0, so 1+1-0 > 1 everywhere.
    assert set(got.values()) == {"node(s) didn't match pod topology spread constraints"}


class _Volumes:
    def __init__(self, pvcs: dict, pvs: dict, classes: dict) -> None:
        self.pvcs, self.pvs, self.classes = pvcs, pvs, classes

    def get_pvc(self, namespace: str, name: str) -> dict | None:
        return self.pvcs.get((namespace, name))

    def get_pv(self, name: str) -> dict | None:
        return self.pvs.get(name)

    def get_storage_class(self, name: str) -> dict | None:
        return self.classes.get(name)


def test_volume_binding_hook() -> None:
    pv_affinity = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["a"]}]}]}}
    lister = _Volumes(
        pvcs={("default", "bound"): {"spec": {"volumeName": "pv1"}},
              ("default", "late"): {"spec": {"storageClassName": "local"}},
              ("default", "now"): {"spec": {"storageClassName": "fast"}}},
        pvs={"pv1": {"spec": {"nodeAffinity": pv_affinity}}},
        classes={"local": {"volumeBindingMode": "WaitForFirstConsumer"}, "fast": {"volumeBindingMode": "Immediate"}},
    )
    plugin = volumebinding.VolumeBinding(lister)
    nodes = [node("a"), node("b")]

    def with_claim(claim: str) -> dict:
        return pod("p", volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": claim}}])

    assert filter_all(plugin, with_claim("bound"), nodes) == {"a": None, "b": "node(s) had volume node affinity conflict"}
    assert filter_all(plugin, with_claim("late"), nodes) == {"a": None, "b": None}
    assert set(filter_all(plugin, with_claim("now"), nodes).values()) == {"pod has unbound immediate PersistentVolumeClaims"}
    assert set(filter_all(plugin, with_claim("gone"), nodes).values()) == {'persistentvolumeclaim "gone" not found'}
