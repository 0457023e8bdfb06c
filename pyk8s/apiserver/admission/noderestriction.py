"""NodeRestriction: a kubelet (``system:node:<name>`` in ``system:nodes``) changes only what is its own.

Upstream's plugin, for the writes that reach admission here (creates and
main-resource updates; status writes, deletes and evictions are held to the
same rules by the Node authorizer):

* pods: a node creates only mirror pods (``kubernetes.io/config.mirror``),
  bound to itself, using no ServiceAccount, Secret, ConfigMap or claim, owned
  by nothing but its Node; it never updates a pod's spec or metadata;
* nodes: a node creates and updates only its own Node object, never sets,
  changes or removes ``node-restriction.kubernetes.io/`` labels, and never
  changes its taints once registered;
* leases: only its own Lease in ``kube-node-lease``.

Refusals are upstream's words (``node "n1" is not allowed to modify node
"n2"``, ``pod does not have "kubernetes.io/config.mirror" annotation, node
"n1" can only create mirror pods``...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.admission.interface import CREATE, PODS, UPDATE, Attributes, Plugin
from pyk8s.apiserver.authorization.podrefs import pod_refs

if TYPE_CHECKING:
    from pyk8s.apiserver.admission.chain import Options
    from pyk8s.apiserver.registry import Registry

Obj = dict[str, Any]
NODES = ("", "nodes")
LEASES = ("coordination.k8s.io", "leases")
MIRROR = "kubernetes.io/config.mirror"
RESTRICTED_LABELS = "node-restriction.kubernetes.io"
NODE_PREFIX = "system:node:"


def requesting_node(attrs: Attributes) -> str:
    if "system:nodes" not in attrs.groups or not attrs.user.startswith(NODE_PREFIX):
        return ""
    return attrs.user[len(NODE_PREFIX):]


def _meta(obj: Obj | None) -> Obj:
    return (obj or {}).get("metadata") or {}


def _restricted(label: str) -> bool:
    prefix = label.split("/", 1)[0] if "/" in label else ""
    return prefix == RESTRICTED_LABELS or prefix.endswith("." + RESTRICTED_LABELS)


def _changed_restricted(new: dict[str, str], old: dict[str, str]) -> list[str]:
    keys = set(new) | set(old)
    return sorted(k for k in keys if _restricted(k) and new.get(k) != old.get(k))


class NodeRestriction(Plugin):
    name = "NodeRestriction"
    resources = frozenset({PODS, NODES, LEASES})

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        node = requesting_node(attrs)
        if not node:
            return
        if attrs.resource == PODS:
            self._pod(node, attrs)
        elif attrs.resource == NODES:
            self._node(node, attrs)
        elif attrs.resource == LEASES:
            self._lease(node, attrs)

    @staticmethod
    def _pod(node: str, attrs: Attributes) -> None:
        if attrs.operation != CREATE:
            raise attrs.forbidden(f'unexpected operation "{attrs.operation}", node "{node}" can only create '
                                  f"and delete mirror pods")
        pod = attrs.obj
        if MIRROR not in (_meta(pod).get("annotations") or {}):
            raise attrs.forbidden(f'pod does not have "{MIRROR}" annotation, node "{node}" can only create mirror '
                                  f"pods")
        if (pod.get("spec") or {}).get("nodeName") != node:
            raise attrs.forbidden(f'node "{node}" can only create pods with spec.nodeName set to itself')
        for ref in _meta(pod).get("ownerReferences") or []:
            if not (ref.get("kind") == "Node" and ref.get("name") == node and ref.get("apiVersion") == "v1"):
                raise attrs.forbidden(f'node "{node}" can only create pods with an owner reference set to itself')
        refs = pod_refs(pod)
        for what, used in (("service accounts", refs.service_accounts), ("secrets", refs.secrets),
                           ("configmaps", refs.configmaps), ("persistentvolumeclaims", refs.claims)):
            if used:
                verb = "use" if what == "service accounts" else "reference"
                raise attrs.forbidden(f'node "{node}" can not create pods that {verb} {what}')

    @staticmethod
    def _node(node: str, attrs: Attributes) -> None:
        name = _meta(attrs.obj).get("name") or ""
        if name != node:
            raise attrs.forbidden(f'node "{node}" is not allowed to modify node "{name}"')
        labels = _meta(attrs.obj).get("labels") or {}
        if attrs.operation == CREATE:
            bad = sorted(k for k in labels if _restricted(k))
            if bad:
                raise attrs.forbidden(f'node "{node}" is not allowed to set the following labels: {", ".join(bad)}')
            return
        if attrs.operation == UPDATE:
            old = attrs.old or {}
            bad = _changed_restricted(labels, _meta(old).get("labels") or {})
            if bad:
                raise attrs.forbidden(f'node "{node}" is not allowed to modify labels: {", ".join(bad)}')
            if ((attrs.obj.get("spec") or {}).get("taints") or []) != ((old.get("spec") or {}).get("taints") or []):
                raise attrs.forbidden(f'node "{node}" is not allowed to modify taints')

    @staticmethod
    def _lease(node: str, attrs: Attributes) -> None:
        meta = _meta(attrs.obj)
        if meta.get("namespace") != "kube-node-lease" or meta.get("name") != node:
            raise attrs.forbidden("can only access node lease with the same name as the requesting node")


def build(options: Options) -> NodeRestriction:
    return NodeRestriction()
