from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pyk8s.apiserver.admission.interface import CREATE, UPDATE, Attributes
from pyk8s.apiserver.admission.noderestriction import NodeRestriction
from pyk8s.machinery.errors import StatusError

NODE = ("system:node:n1", ("system:nodes", "system:authenticated"))


def run(op: str, group: str, plural: str, obj: dict[str, Any], old: dict[str, Any] | None = None,
        who: tuple[str, tuple[str, ...]] = NODE) -> None:
    attrs = Attributes(op, group, plural, obj, old, user=who[0], groups=who[1])
    asyncio.run(NodeRestriction().validate(None, attrs))  # type: ignore[arg-type]


def refused(*args: Any, **kwargs: Any) -> str:
    with pytest.raises(StatusError) as exc:
        run(*args, **kwargs)
    assert exc.value.code == 403
    return str(exc.value.message)


def mirror(node: str = "n1", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "m", "namespace": "ns", "annotations": {"kubernetes.io/config.mirror": "h"}},
            "spec": {"nodeName": node, "containers": [{"name": "c"}], **spec}}


def test_only_mirror_pods_bound_to_itself() -> None:
    run(CREATE, "", "pods", mirror())
    plain = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"nodeName": "n1"}}
    assert refused(CREATE, "", "pods", plain) == ('pods "p" is forbidden: pod does not have '
                                                  '"kubernetes.io/config.mirror" annotation, node "n1" can only '
                                                  "create mirror pods")
    assert "can only create pods with spec.nodeName set to itself" in refused(CREATE, "", "pods", mirror("n2"))
    assert "can not create pods that use service accounts" in refused(CREATE, "", "pods",
                                                                      mirror(serviceAccountName="default"))
    secret = mirror(volumes=[{"name": "v", "secret": {"secretName": "s"}}])
    assert "can not create pods that reference secrets" in refused(CREATE, "", "pods", secret)
    assert 'unexpected operation "UPDATE"' in refused(UPDATE, "", "pods", mirror(), mirror())


def test_own_node_and_no_restricted_labels() -> None:
    mine = {"metadata": {"name": "n1", "labels": {"a": "1"}}, "spec": {}}
    run(UPDATE, "", "nodes", mine, mine)
    other = {"metadata": {"name": "n2"}, "spec": {}}
    assert refused(UPDATE, "", "nodes", other, other) == ('nodes "n2" is forbidden: node "n1" is not allowed to '
                                                          'modify node "n2"')
    labelled = {"metadata": {"name": "n1", "labels": {"node-restriction.kubernetes.io/x": "y"}}, "spec": {}}
    assert "is not allowed to modify labels: node-restriction.kubernetes.io/x" in refused(UPDATE, "", "nodes",
                                                                                         labelled, mine)
    assert "is not allowed to set the following labels: node-restriction.kubernetes.io/x" in refused(
        CREATE, "", "nodes", labelled)
    tainted = {"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}}
    assert "is not allowed to modify taints" in refused(UPDATE, "", "nodes", mine, tainted)


def test_leases_and_other_users() -> None:
    lease = {"metadata": {"name": "n1", "namespace": "kube-node-lease"}}
    run(UPDATE, "coordination.k8s.io", "leases", lease, lease)
    other = {"metadata": {"name": "n2", "namespace": "kube-node-lease"}}
    assert "can only access node lease with the same name" in refused(UPDATE, "coordination.k8s.io", "leases",
                                                                      other, other)
    run(CREATE, "", "pods", {"metadata": {"name": "p"}, "spec": {}}, who=("alice", ("system:authenticated",)))
