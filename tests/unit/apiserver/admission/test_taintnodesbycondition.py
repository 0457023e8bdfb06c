"""TaintNodesByCondition: every new Node starts with ``node.kubernetes.io/not-ready:NoSchedule`` (the node
lifecycle controller lifts it); updates and a node already carrying it are left alone."""

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions

from .conftest import store

NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}


async def test_a_new_node_is_not_ready_until_the_controller_says_so(registry: Registry) -> None:
    nodes = store(registry, "", "nodes")
    first = await nodes.create("", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}, WriteOptions())
    assert first["spec"]["taints"] == [NOT_READY]
    own = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    mine = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"},
            "spec": {"taints": [own, {**NOT_READY, "value": "x"}]}}
    created = await nodes.create("", mine, WriteOptions())
    assert created["spec"]["taints"] == [own, {**NOT_READY, "value": "x"}]  # same key and effect: not doubled
    # The controller lifts it; an update never puts it back.
    lifted, _ = await nodes.update("", "n1", {**first, "spec": {}}, WriteOptions())
    assert not lifted["spec"].get("taints")
