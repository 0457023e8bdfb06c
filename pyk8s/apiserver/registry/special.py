"""Which store class serves which resource (the generic one unless listed)."""

from __future__ import annotations

from pyk8s.apiserver.apiextensions.crdstore import CRDStore
from pyk8s.apiserver.registry.certificates.csr import CertificateSigningRequestStore
from pyk8s.apiserver.registry.core.componentstatus import ComponentStatusStore
from pyk8s.apiserver.registry.core.namespace import NamespaceStore
from pyk8s.apiserver.registry.core.pod import PodStore
from pyk8s.apiserver.registry.core.service import ServiceStore
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rbac import BindingStore, RoleStore
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


def store_class(rt: ResourceType) -> type[GenericStore]:
    return SPECIAL.get((rt.group, rt.plural), GenericStore)
