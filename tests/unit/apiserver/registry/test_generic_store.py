"""GenericStore object semantics over the memory driver."""

import pytest

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.objectmeta import NAME_ALPHABET
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WriteOptions
from pyk8s.machinery.errors import StatusError

from .helpers import configmap, deployment, store


async def test_create_sets_server_fields(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    obj = configmap("a")
    obj["metadata"]["creationTimestamp"] = None
    out = await cms.create("default", obj, WriteOptions())
    meta = out["metadata"]
    assert out["kind"] == "ConfigMap" and out["apiVersion"] == "v1"
    assert meta["namespace"] == "default" and len(meta["uid"]) == 36
    assert meta["creationTimestamp"].endswith("Z")
    got = await cms.get("default", "a")
    assert got["metadata"]["resourceVersion"] == meta["resourceVersion"]
    with pytest.raises(StatusError) as exc:
        await cms.create("default", configmap("a"), WriteOptions())
    assert exc.value.code == 409 and exc.value.reason == "AlreadyExists"


async def test_generate_name(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    names = set()
    for _ in range(5):
        out = await cms.create("default", configmap(generateName="x-"), WriteOptions())
        name = out["metadata"]["name"]
        assert name.startswith("x-") and len(name) == 7
        assert all(c in NAME_ALPHABET for c in name[2:])
        names.add(name)
    assert len(names) == 5


async def test_namespace_checks(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    with pytest.raises(StatusError) as exc:
        await cms.create("default", configmap("a", namespace="other"), WriteOptions())
    assert exc.value.code == 400
    with pytest.raises(StatusError) as exc:
        await cms.create("nope", configmap("a"), WriteOptions())
    assert exc.value.code == 404 and exc.value.message == 'namespaces "nope" not found'


async def test_stale_update_conflicts_and_unconditional_wins(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    first = await cms.create("default", configmap("a"), WriteOptions())
    first["data"] = {"a": "2"}
    second, created = await cms.update("default", "a", first, WriteOptions())
    assert not created and second["data"] == {"a": "2"}
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    with pytest.raises(StatusError) as exc:
        await cms.update("default", "a", first, WriteOptions())
    assert exc.value.code == 409
    assert "the object has been modified" in exc.value.message
    first["metadata"].pop("resourceVersion")
    first["data"] = {"a": "3"}
    third, _ = await cms.update("default", "a", first, WriteOptions())
    assert third["data"] == {"a": "3"}
    with pytest.raises(StatusError) as exc:
        await cms.update("default", "missing", configmap("missing"), WriteOptions())
    assert exc.value.code == 404


async def test_generation_and_status_separation(registry: Registry) -> None:
    deps = store(registry, "apps", "deployments")
    d = await deps.create("default", deployment("web"), WriteOptions())
    assert d["metadata"]["generation"] == 1
    d["metadata"]["labels"] = {"x": "y"}
    d, _ = await deps.update("default", "web", d, WriteOptions())
    assert d["metadata"]["generation"] == 1
    d["spec"]["replicas"] = 3
    d["status"] = {"replicas": 99}
    d, _ = await deps.update("default", "web", d, WriteOptions())
    assert d["metadata"]["generation"] == 2 and (d.get("status") or {}).get("replicas") != 99
    d["status"] = {"replicas": 3}
    d["spec"]["replicas"] = 7
    d, _ = await deps.update("default", "web", d, WriteOptions(), subresource="status")
    assert d["status"]["replicas"] == 3 and d["spec"]["replicas"] == 3
    assert d["metadata"]["generation"] == 2


async def test_patch_types(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    await cms.create("default", configmap("a"), WriteOptions())
    out, _ = await cms.patch("default", "a", "application/merge-patch+json", {"data": {"b": "2"}}, WriteOptions())
    assert out["data"] == {"a": "1", "b": "2"}
    out, _ = await cms.patch("default", "a", "application/json-patch+json",
                             [{"op": "remove", "path": "/data/a"}], WriteOptions())
    assert out["data"] == {"b": "2"}
    out, _ = await cms.patch("default", "a", "application/strategic-merge-patch+json", {"data": {"c": "3"}},
                             WriteOptions())
    assert out["data"] == {"b": "2", "c": "3"}
    with pytest.raises(StatusError) as exc:
        await cms.patch("default", "a", "application/merge-patch+json",
                        {"metadata": {"resourceVersion": "1"}, "data": {"z": "z"}}, WriteOptions())
    assert exc.value.code == 409


async def test_apply_creates_then_updates(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    cfg = configmap("s")
    out, created = await cms.patch("default", "s", "application/apply-patch+yaml", cfg,
                                   WriteOptions(field_manager="me"))
    assert created and out["data"] == {"a": "1"}
    assert out["metadata"]["managedFields"][0]["manager"] == "me"
    cfg["data"] = {"a": "2"}
    out, created = await cms.patch("default", "s", "application/apply-patch+yaml", cfg,
                                   WriteOptions(field_manager="me"))
    assert not created and out["data"] == {"a": "2"}
    with pytest.raises(StatusError) as exc:
        await cms.patch("default", "s", "application/apply-patch+yaml", cfg, WriteOptions())
    assert exc.value.code == 400


async def test_dry_run_writes_nothing(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    out = await cms.create("default", configmap("d"), WriteOptions(dry_run=True))
    assert out["metadata"]["uid"] and out["metadata"]["creationTimestamp"]
    with pytest.raises(StatusError):
        await cms.get("default", "d")
    await cms.create("default", configmap("d"), WriteOptions())
    await cms.delete("default", "d", DeleteOptions(dry_run=True))
    assert (await cms.get("default", "d"))["metadata"]["name"] == "d"


async def test_finalizers_keep_object_until_cleared(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    await cms.create("default", configmap("f", finalizers=["example.com/x"]), WriteOptions())
    out = await cms.delete("default", "f", DeleteOptions())
    assert out["metadata"]["deletionTimestamp"] and out["metadata"]["deletionGracePeriodSeconds"] == 0
    got = await cms.get("default", "f")
    got["metadata"]["finalizers"] = []
    await cms.update("default", "f", got, WriteOptions())
    with pytest.raises(StatusError) as exc:
        await cms.get("default", "f")
    assert exc.value.code == 404


async def test_delete_answers_with_the_deletions_resource_version(registry: Registry) -> None:
    sas = store(registry, "", "serviceaccounts")  # a store that answers with the deleted object
    created = await sas.create("default", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "gone"}},
                               WriteOptions())
    before = int(created["metadata"]["resourceVersion"])
    out = await sas.delete("default", "gone", DeleteOptions())
    deleted_at = int(out["metadata"]["resourceVersion"])
    assert deleted_at > before  # the deletion is a write of its own, as upstream reports it
    assert deleted_at == await registry.storage.current_revision()


async def test_delete_of_other_kinds_answers_a_success_status(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    created = await cms.create("default", configmap("gone"), WriteOptions())
    out = await cms.delete("default", "gone", DeleteOptions())
    assert out == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                   "details": {"name": "gone", "kind": "configmaps", "uid": created["metadata"]["uid"]}}


async def test_update_of_an_object_deleted_meanwhile_is_404(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    await cms.create("default", configmap("race"), WriteOptions())

    async def mutate(obj: dict) -> dict:
        await registry.storage.delete(cms.key("default", "race"))  # another client's DELETE wins the race
        obj["data"] = {"a": "2"}
        return obj

    with pytest.raises(StatusError) as exc:
        await cms.guaranteed_update("default", "race", mutate)
    assert exc.value.code == 404


async def test_delete_preconditions_and_orphan(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    await cms.create("default", configmap("p"), WriteOptions())
    with pytest.raises(StatusError) as exc:
        await cms.delete("default", "p", DeleteOptions(preconditions={"uid": "nope"}))
    assert exc.value.code == 409 and "Precondition failed: UID in precondition: nope" in exc.value.message
    out = await cms.delete("default", "p", DeleteOptions(propagation_policy="Orphan"))
    assert out["metadata"]["finalizers"] == ["orphan"]


async def test_list_selectors_and_pages(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    for i in range(10):
        await cms.create("default", configmap(f"c{i:02d}", labels={"even": str(i % 2 == 0).lower()}),
                         WriteOptions())
    lst = await cms.list("default", ListOptions(label_selector="even=true"))
    assert [o["metadata"]["name"] for o in lst["items"]] == [f"c{i:02d}" for i in range(0, 10, 2)]
    assert lst["kind"] == "ConfigMapList"
    lst = await cms.list("", ListOptions(field_selector="metadata.name=c03"))
    assert [o["metadata"]["name"] for o in lst["items"]] == ["c03"]
    with pytest.raises(StatusError) as exc:
        await cms.list("", ListOptions(field_selector="spec.foo=x"))
    assert exc.value.code == 400
    page = await cms.list("default", ListOptions(limit=4))
    seen = [o["metadata"]["name"] for o in page["items"]]
    assert page["metadata"]["remainingItemCount"] == 6
    rv = page["metadata"]["resourceVersion"]
    await cms.create("default", configmap("c05x"), WriteOptions())  # must not appear: pinned revision
    while page["metadata"].get("continue"):
        page = await cms.list("default", ListOptions(limit=4, continue_token=page["metadata"]["continue"]))
        assert page["metadata"]["resourceVersion"] == rv
        seen += [o["metadata"]["name"] for o in page["items"]]
    assert seen == [f"c{i:02d}" for i in range(10)]


async def test_create_on_update_only_where_allowed(registry: Registry) -> None:
    leases = store(registry, "coordination.k8s.io", "leases")
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"},
             "spec": {"holderIdentity": "me"}}
    out, created = await leases.update("default", "l", lease, WriteOptions())
    assert created and out["spec"]["holderIdentity"] == "me"
    with pytest.raises(StatusError) as exc:
        await store(registry, "", "configmaps").update("default", "nope", configmap("nope"), WriteOptions())
    assert exc.value.code == 404


async def test_paged_list_with_rare_selector(registry: Registry) -> None:
    cms = store(registry, "", "configmaps")
    for i in range(30):
        await cms.create("default", configmap(f"r{i:02d}", labels={"hit": str(i % 7 == 0).lower()}),
                         WriteOptions())
    seen: list[str] = []
    page = await cms.list("default", ListOptions(limit=2, label_selector="hit=true"))
    seen += [o["metadata"]["name"] for o in page["items"]]
    while page["metadata"].get("continue"):
        assert "remainingItemCount" not in page["metadata"]
        page = await cms.list("default", ListOptions(limit=2, label_selector="hit=true",
                                                     continue_token=page["metadata"]["continue"]))
        seen += [o["metadata"]["name"] for o in page["items"]]
    assert seen == ["r00", "r07", "r14", "r21", "r28"]


async def test_patch_drops_unknown_fields_unless_strict(registry: Registry) -> None:
    deps = store(registry, "apps", "deployments")
    await deps.create("default", deployment("web"), WriteOptions())
    patch = {"spec": {"replicas": 2, "foo": "bar"}}
    with pytest.raises(StatusError) as exc:
        await deps.patch("default", "web", "application/merge-patch+json", patch, WriteOptions(field_validation="Strict"))
    assert exc.value.code == 400 and 'unknown field "spec.foo"' in exc.value.message
    warn = WriteOptions(field_validation="Warn")
    out, _ = await deps.patch("default", "web", "application/merge-patch+json", patch, warn)
    assert out["spec"]["replicas"] == 2 and "foo" not in out["spec"]
    assert any('unknown field "spec.foo"' in w for w in warn.warnings)
    out, _ = await deps.patch("default", "web", "application/merge-patch+json", {"spec": {"bar": 1}},
                              WriteOptions(field_validation="Ignore"))
    assert "bar" not in out["spec"]
    assert "bar" not in (await deps.get("default", "web"))["spec"]


async def test_empty_meta_collections_are_omitted(registry: Registry) -> None:
    """ObjectMeta's labels, annotations, ownerReferences and finalizers are ``omitempty`` in Go:
    stripping the last ownerReference (the garbage collector orphaning) leaves no ``[]`` behind."""
    cms = store(registry, "", "configmaps")
    obj = configmap("a")
    obj["metadata"].update(labels={}, annotations={}, finalizers=[], ownerReferences=[])
    out = await cms.create("default", obj, WriteOptions())
    assert not {"labels", "annotations", "finalizers", "ownerReferences"} & set(out["metadata"])
    out["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                           "uid": "0c0f4a0e-0000-4000-8000-000000000000"}]
    out["metadata"]["labels"] = {"k": "v"}
    out, _ = await cms.update("default", "a", out, WriteOptions())
    assert out["metadata"]["labels"] == {"k": "v"} and len(out["metadata"]["ownerReferences"]) == 1
    out["metadata"]["ownerReferences"] = []
    out["metadata"]["labels"] = {}
    out, _ = await cms.update("default", "a", out, WriteOptions())
    stored = await cms.get("default", "a")
    for got in (out, stored):
        assert "ownerReferences" not in got["metadata"] and "labels" not in got["metadata"], got["metadata"]
