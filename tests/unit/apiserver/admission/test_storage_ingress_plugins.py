"""PersistentVolumeClaimResize and DefaultIngressClass."""

from typing import Any

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions

from .conftest import refused, store


async def bound_claim(registry: Registry, klass: str) -> dict[str, Any]:
    claims = store(registry, "", "persistentvolumeclaims")
    created = await claims.create("default", {"metadata": {"name": f"c-{klass}"}, "spec": {
        "storageClassName": klass, "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}}}}, WriteOptions())
    created["status"] = {"phase": "Bound"}
    updated, _ = await claims.update("default", created["metadata"]["name"], created, WriteOptions(),
                                     subresource="status")
    return updated


async def test_claims_grow_only_where_the_class_allows(registry: Registry) -> None:
    classes = store(registry, "storage.k8s.io", "storageclasses")
    for name, expand in (("fixed", False), ("elastic", True)):
        await classes.create("", {"metadata": {"name": name}, "provisioner": "example.com/x",
                                  "allowVolumeExpansion": expand}, WriteOptions())
    claims = store(registry, "", "persistentvolumeclaims")
    for klass in ("fixed", "elastic"):
        claim = await bound_claim(registry, klass)
        claim["spec"]["resources"]["requests"]["storage"] = "2Gi"
        if klass == "fixed":
            err = await refused(claims.update("default", f"c-{klass}", claim, WriteOptions()))
            assert err.code == 403 and err.message == (
                'persistentvolumeclaims "c-fixed" is forbidden: only dynamically provisioned pvc can be resized '
                'and the storageclass that provisions the pvc must support resize')
        else:
            updated, _ = await claims.update("default", f"c-{klass}", claim, WriteOptions())
            assert updated["spec"]["resources"]["requests"]["storage"] == "2Gi"


async def test_default_ingress_class(registry: Registry) -> None:
    classes = store(registry, "networking.k8s.io", "ingressclasses")
    await classes.create("", {"metadata": {"name": "nginx", "annotations": {
        "ingressclass.kubernetes.io/is-default-class": "true"}}, "spec": {"controller": "k8s.io/nginx"}},
        WriteOptions())
    ingresses = store(registry, "networking.k8s.io", "ingresses")
    backend = {"service": {"name": "s", "port": {"number": 80}}}
    made = await ingresses.create("default", {"metadata": {"name": "i"}, "spec": {"defaultBackend": backend}},
                                  WriteOptions())
    assert made["spec"]["ingressClassName"] == "nginx"
    legacy = await ingresses.create("default", {"metadata": {"name": "j", "annotations": {
        "kubernetes.io/ingress.class": "other"}}, "spec": {"defaultBackend": backend}}, WriteOptions())
    assert "ingressClassName" not in legacy["spec"]


async def test_runtime_class_must_exist(registry: Registry) -> None:
    from .conftest import pod

    pods = store(registry, "", "pods")
    err = await refused(pods.create("default", pod("g", runtimeClassName="gvisor"), WriteOptions()))
    assert err.code == 403 and err.message == 'pods "g" is forbidden: pod rejected: RuntimeClass "gvisor" not found'
    err = await refused(pods.create("default", pod("o", overhead={"cpu": "100m"}), WriteOptions()))
    assert err.message == 'pods "o" is forbidden: pod rejected: Pod Overhead set without corresponding RuntimeClass'
    await pods.create("default", pod("plain"), WriteOptions())
