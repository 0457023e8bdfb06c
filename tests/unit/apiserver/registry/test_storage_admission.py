"""Storage admission: the bootstrapped default class, DefaultStorageClass, and the protection finalizers."""

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WriteOptions

from .helpers import store

SC_GROUP = "storage.k8s.io"


def claim(name: str, **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}}


def sc(name: str, default: str | None = None) -> dict:
    meta: dict = {"name": name}
    if default is not None:
        meta["annotations"] = {"storageclass.kubernetes.io/is-default-class": default}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta, "provisioner": "x.io/y"}


async def test_local_path_is_the_bootstrapped_default(registry: Registry) -> None:
    items = (await store(registry, SC_GROUP, "storageclasses").list("", ListOptions()))["items"]
    assert [(i["metadata"]["name"], i["provisioner"], i["volumeBindingMode"], i["reclaimPolicy"],
             i["metadata"]["annotations"]) for i in items] == [
        ("local-path", "rancher.io/local-path", "WaitForFirstConsumer", "Delete",
         {"storageclass.kubernetes.io/is-default-class": "true"})]


async def test_claims_without_a_class_get_the_default(registry: Registry) -> None:
    pvcs = store(registry, "", "persistentvolumeclaims")
    assert (await pvcs.create("default", claim("a"), WriteOptions()))["spec"]["storageClassName"] == "local-path"
    assert (await pvcs.create("default", claim("b", storageClassName=""), WriteOptions()))["spec"][
        "storageClassName"] == ""
    assert (await pvcs.create("default", claim("c", storageClassName="gold"), WriteOptions()))["spec"][
        "storageClassName"] == "gold"
    beta = claim("d")
    beta["metadata"]["annotations"] = {"volume.beta.kubernetes.io/storage-class": "gold"}
    assert "storageClassName" not in (await pvcs.create("default", beta, WriteOptions()))["spec"]
    # Not a default: "false"; a second default that is newer wins (same second: the later name).
    classes = store(registry, SC_GROUP, "storageclasses")
    await classes.create("", sc("not-default", "false"), WriteOptions())
    await classes.create("", sc("zz-newer", "true"), WriteOptions())
    assert (await pvcs.create("default", claim("e"), WriteOptions()))["spec"]["storageClassName"] == "zz-newer"


async def test_no_default_class_leaves_the_claim_alone(registry: Registry) -> None:
    await store(registry, SC_GROUP, "storageclasses").delete("", "local-path", DeleteOptions())
    made = await store(registry, "", "persistentvolumeclaims").create("default", claim("a"), WriteOptions())
    assert "storageClassName" not in made["spec"]


async def test_protection_finalizers_added_at_creation(registry: Registry) -> None:
    made = await store(registry, "", "persistentvolumeclaims").create("default", claim("a"), WriteOptions())
    assert made["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "v", "finalizers": ["x.io/keep"]},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/d"}}}
    made = await store(registry, "", "persistentvolumes").create("", pv, WriteOptions())
    assert made["metadata"]["finalizers"] == ["x.io/keep", "kubernetes.io/pv-protection"]
