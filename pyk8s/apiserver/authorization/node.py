"""The Node authorizer: what a kubelet (user ``system:node:<name>`` in group ``system:nodes``) may do.

As upstream's graph authorizer, in a simpler form: the "graph" is read from the
watch caches when a node asks.  A node may

* read (get, or list/watch of one named object) a Secret or ConfigMap only
  when a pod bound to it uses it, get a PersistentVolumeClaim its pods use and
  the PersistentVolume bound to such a claim (and update the claim's status),
  get a VolumeAttachment for itself, and create a token only for a
  ServiceAccount its pods run as;
* get/create/update/patch/delete Leases only in ``kube-node-lease`` and,
  except on create, only the one named after it;
* do everything else the ``system:node`` rules list (``NODE_RULES``): register
  and update Node objects, read pods and services, write pod status, events...
  NodeRestriction admission (``admission/noderestriction.py``) narrows creates
  and updates to its own objects; the same rules for writes that skip
  admission here (node and pod status, deletes, evictions) are applied in this
  authorizer: only its own Node, only pods bound to it.

Requests of other users get no opinion, so RBAC decides; refusals carry
upstream's reasons (``no relationship found between node 'n1' and this object``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.bootstrappolicy import node_rules
from pyk8s.apiserver.authorization.caches import caught_up
from pyk8s.apiserver.authorization.decision import Decision
from pyk8s.apiserver.authorization.podrefs import PodRefs, pod_refs
from pyk8s.apiserver.authorization.rules import compile_rules, rules_allow
from pyk8s.apiserver.filters.authn import UserInfo

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

Obj = dict[str, Any]
NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
LEASE_NAMESPACE = "kube-node-lease"
NODE_RULES = compile_rules(node_rules())
NO_NAME = "No Object name found"


def node_name(user: UserInfo) -> str:
    """The node a user speaks for, or "" (it must be ``system:node:<name>`` and in ``system:nodes``)."""
    if NODES_GROUP not in user.groups or not user.username.startswith(NODE_USER_PREFIX):
        return ""
    return user.username[len(NODE_USER_PREFIX):]


class NodeGraph:
    """Pods, claims and attachments as the authorizer needs them, from the registry's watch caches."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._refs: dict[str, tuple[int, dict[str, PodRefs]]] = {}

    async def _objects(self, group: str, plural: str) -> tuple[int, list[Obj]]:
        store = self.registry.store(group, plural)
        if store is None:
            return 0, []
        cache = await caught_up(store)
        return cache.rev, list(cache.state.values())

    async def refs(self, node: str) -> dict[str, PodRefs]:
        """Per namespace, everything the pods bound to ``node`` use (remembered until a pod changes: the
        pods are only listed when the cache moved since this node's last answer)."""
        store = self.registry.store("", "pods")
        cache = None if store is None else await caught_up(store)
        rev = 0 if cache is None else cache.rev
        cached = self._refs.get(node)
        if cached is not None and cached[0] == rev:
            return cached[1]
        out: dict[str, PodRefs] = {}
        for pod in () if cache is None else list(cache.state.values()):
            if (pod.get("spec") or {}).get("nodeName") != node:
                continue
            ns = (pod.get("metadata") or {}).get("namespace") or ""
            out.setdefault(ns, PodRefs()).merge(pod_refs(pod))
        if len(self._refs) > 1024:
            self._refs.clear()
        self._refs[node] = (rev, out)
        return out

    async def pod_node(self, namespace: str, name: str) -> str | None:
        """The node a pod is bound to ("" unbound), None when there is no such pod."""
        store = self.registry.store("", "pods")
        if store is None:
            return None
        cache = await caught_up(store)
        pod = cache.lookup(store.key(namespace, name))
        return None if pod is None else str((pod.get("spec") or {}).get("nodeName") or "")

    async def uses(self, node: str, kind: str, namespace: str, name: str) -> bool:
        if kind == "volumeattachments":
            _, vas = await self._objects("storage.k8s.io", "volumeattachments")
            return any((v.get("metadata") or {}).get("name") == name and (v.get("spec") or {}).get("nodeName") == node
                       for v in vas)
        refs = await self.refs(node)
        if kind == "persistentvolumes":
            _, claims = await self._objects("", "persistentvolumeclaims")
            for claim in claims:
                meta = claim.get("metadata") or {}
                ns_refs = refs.get(meta.get("namespace") or "")
                if ns_refs and meta.get("name") in ns_refs.claims and (claim.get("spec") or {}).get("volumeName") == name:
                    return True
            return False
        got = refs.get(namespace)
        if got is None or not name:
            return False
        if kind == "secrets":
            return name in got.secrets
        if kind == "configmaps":
            return name in got.configmaps
        if kind == "persistentvolumeclaims":
            return name in got.claims
        if kind == "serviceaccounts":
            return name in got.service_accounts
        return False


class NodeAuthorizer:
    def __init__(self, graph: NodeGraph) -> None:
        self.graph = graph

    async def authorize(self, attrs: Attributes) -> tuple[Decision, str]:
        node = node_name(attrs.user)
        if not node:
            return Decision.NO_OPINION, ""
        if attrs.resource_request:
            decided = await self._graph_checked(node, attrs)
            if decided is not None:
                return decided
        if rules_allow(attrs, NODE_RULES):
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, ""

    async def _related(self, node: str, kind: str, attrs: Attributes) -> tuple[Decision, str]:
        if not attrs.name:
            return Decision.NO_OPINION, NO_NAME
        if await self.graph.uses(node, kind, attrs.namespace, attrs.name):
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, f"no relationship found between node '{node}' and this object"

    async def _graph_checked(self, node: str, attrs: Attributes) -> tuple[Decision, str] | None:
        group, resource, verb, sub = attrs.api_group, attrs.resource, attrs.verb, attrs.subresource
        if group == "" and resource in ("secrets", "configmaps"):
            if verb not in ("get", "list", "watch"):
                return Decision.NO_OPINION, "can only read resources of this type"
            if sub:
                return Decision.NO_OPINION, "cannot read subresource"
            if not attrs.namespace:
                return Decision.NO_OPINION, "can only read namespaced object of this type"
            return await self._related(node, resource, attrs)
        if group == "" and resource == "persistentvolumeclaims" and sub == "status":
            if verb not in ("get", "update", "patch"):
                return Decision.NO_OPINION, "can only get, update, or patch persistentvolumeclaim status"
            return await self._related(node, resource, attrs)
        if (group, resource) in (("", "persistentvolumeclaims"), ("", "persistentvolumes"),
                                 ("storage.k8s.io", "volumeattachments")):
            if verb != "get":
                return Decision.NO_OPINION, "can only get individual resources of this type"
            if sub:
                return Decision.NO_OPINION, "cannot get subresource"
            return await self._related(node, resource, attrs)
        if group == "" and resource == "serviceaccounts":
            if verb != "create" or sub != "token" or not attrs.name:
                return Decision.NO_OPINION, "can only create tokens for individual service accounts"
            return await self._related(node, resource, attrs)
        if group == "coordination.k8s.io" and resource == "leases":
            return self._lease(node, attrs)
        if group == "" and resource == "nodes" and verb in ("update", "patch", "delete") and attrs.name != node:
            # NodeRestriction's rule, here because subresource writes and deletes skip admission.
            return Decision.NO_OPINION, f'node "{node}" is not allowed to modify node "{attrs.name}"'
        if group == "" and resource == "pods" and (sub in ("status", "eviction") or (not sub and verb == "delete")):
            if await self.graph.pod_node(attrs.namespace, attrs.name) not in (node, None):
                what = {"status": "update pod status for", "eviction": "evict"}.get(sub, "delete")
                return Decision.NO_OPINION, f'node "{node}" can only {what} pods with spec.nodeName set to itself'
        return None

    @staticmethod
    def _lease(node: str, attrs: Attributes) -> tuple[Decision, str]:
        if attrs.verb not in ("get", "create", "update", "patch", "delete"):
            return Decision.NO_OPINION, "can only get, create, update, patch, or delete a node lease"
        if attrs.namespace != LEASE_NAMESPACE:
            return Decision.NO_OPINION, f"can only access leases in the {LEASE_NAMESPACE} namespace"
        if attrs.verb != "create" and attrs.name != node:
            return Decision.NO_OPINION, "can only access node lease with the same name as the requesting node"
        return Decision.ALLOW, ""
