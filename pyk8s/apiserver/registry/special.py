"""The built-in kinds' storage bundles: which store class serves which resource (the generic
one unless listed) and each resource's subresources besides ``status`` (``bundle.py`` says
what shape each has).  Every built-in resource with a ``scale`` subresource gets the
replicas view of ``scale.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyk8s.apiserver.apiextensions.crdstore import CRDStore
from pyk8s.apiserver.registry.bundle import ResourceBundle
from pyk8s.apiserver.registry.certificates.csr import CertificateSigningRequestStore
from pyk8s.apiserver.registry.core.componentstatus import ComponentStatusStore
from pyk8s.apiserver.registry.core.connect import (
    NodeProxyREST,
    PodLogREST,
    PodProxyREST,
    ServiceProxyREST,
    pod_stream,
)
from pyk8s.apiserver.registry.core.eviction import PodEviction
from pyk8s.apiserver.registry.core.namespace import NamespaceStore
from pyk8s.apiserver.registry.core.pod import PodBinding, PodStore
from pyk8s.apiserver.registry.core.service import ServiceStore
from pyk8s.apiserver.registry.core.serviceaccounttoken import TokenREST
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rbac import BindingStore, RoleStore
from pyk8s.apiserver.registry.scale import ScaleREST
from pyk8s.apiserver.registry.scheduling.priorityclass import PriorityClassStore
from pyk8s.machinery.scheme import ResourceType

SPECIAL: dict[tuple[str, str], type[GenericStore]] = {
    ("", "namespaces"): NamespaceStore,
    ("", "pods"): PodStore,
    ("", "services"): ServiceStore,
    ("", "componentstatuses"): ComponentStatusStore,
    ("scheduling.k8s.io", "priorityclasses"): PriorityClassStore,
    ("rbac.authorization.k8s.io", "roles"): RoleStore,
    ("rbac.authorization.k8s.io", "clusterroles"): RoleStore,
    ("rbac.authorization.k8s.io", "rolebindings"): BindingStore,
    ("rbac.authorization.k8s.io", "clusterrolebindings"): BindingStore,
    ("certificates.k8s.io", "certificatesigningrequests"): CertificateSigningRequestStore,
    ("apiextensions.k8s.io", "customresourcedefinitions"): CRDStore,
}


#: (group, plural) -> subresource -> factory taking the main store
SUBRESOURCES: dict[tuple[str, str], dict[str, Callable[[Any], Any]]] = {
    ("", "pods"): {"binding": PodBinding, "eviction": PodEviction, "log": PodLogREST, "exec": pod_stream("exec"),
                   "attach": pod_stream("attach"), "portforward": pod_stream("portforward"), "proxy": PodProxyREST},
    ("", "services"): {"proxy": ServiceProxyREST},
    ("", "nodes"): {"proxy": NodeProxyREST},
    ("", "serviceaccounts"): {"token": TokenREST},
}


def store_class(rt: ResourceType) -> type[GenericStore]:
    return SPECIAL.get((rt.group, rt.plural), GenericStore)


def builtin_bundle(rt: ResourceType) -> ResourceBundle:
    subresources = dict(SUBRESOURCES.get((rt.group, rt.plural), {}))
    if "scale" in rt.subresources:
        subresources.setdefault("scale", ScaleREST)
    return ResourceBundle(store_class(rt), subresources)
