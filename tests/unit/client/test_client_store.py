"""The indexed cache and its listers."""

from __future__ import annotations

from pyk8s.client.tools.lister import Lister
from pyk8s.client.tools.store import (
    DeletedFinalStateUnknown,
    Store,
    by_node_name,
    by_owner_uid,
    deletion_key,
    meta_key,
    split_key,
)


def pod(name: str, ns: str = "default", node: str = "", owner: str = "", **labels: str) -> dict:
    meta: dict = {"name": name, "namespace": ns, "labels": labels}
    if owner:
        meta["ownerReferences"] = [{"uid": owner, "kind": "ReplicaSet", "name": "rs"}]
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}}


def test_keys() -> None:
    assert meta_key(pod("a", "ns")) == "ns/a"
    assert meta_key({"metadata": {"name": "node1"}}) == "node1"
    assert split_key("ns/a") == ("ns", "a") and split_key("node1") == ("", "node1")
    assert deletion_key(DeletedFinalStateUnknown("x/y", {})) == "x/y"


def test_indexes_follow_updates_and_deletes() -> None:
    store = Store({"node": by_node_name})
    store.add(pod("a", node="n1"))
    store.add(pod("b", node="n1"))
    store.add(pod("c", ns="other", node="n2"))
    assert sorted(o["metadata"]["name"] for o in store.by_index("node", "n1")) == ["a", "b"]
    store.update(pod("a", node="n2"))  # moved
    assert store.index_keys("node", "n1") == ["default/b"]
    assert store.index_keys("node", "n2") == ["default/a", "other/c"]
    store.delete(pod("c", ns="other"))
    assert store.index_keys("node", "n2") == ["default/a"]
    assert "other" not in store.index_values("namespace")
    # An indexer added later indexes what is already there.
    store.add(pod("d", owner="u1"))
    store.add_indexers({"owner": by_owner_uid})
    assert store.index_keys("owner", "u1") == ["default/d"]
    store.replace([pod("z", node="n9")])
    assert store.keys() == ["default/z"] and store.index_keys("node", "n1") == []
    assert store.index_keys("node", "n9") == ["default/z"]


def test_lister() -> None:
    store = Store()
    for name, ns, app in (("a", "x", "web"), ("b", "x", "db"), ("c", "y", "web")):
        store.add(pod(name, ns, app=app))
    lister = Lister(store)
    assert lister.get("a", "x")["metadata"]["name"] == "a"
    assert lister.get("a", "y") is None
    assert sorted(o["metadata"]["name"] for o in lister.list("x")) == ["a", "b"]
    assert sorted(o["metadata"]["name"] for o in lister.list(selector="app=web")) == ["a", "c"]
    assert [o["metadata"]["name"] for o in lister.list("y", {"app": "web"})] == ["c"]
    assert lister.list(selector="app in (db)")[0]["metadata"]["name"] == "b"
