"""The CRD controller in process: a CRD is served through a registry bundle (scheme, schemas,
store), established with upstream's conditions, refused names conflict, and deletion removes the
objects, the CRD and the resource again (nothing left in the process-wide scheme)."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.apiextensions.controller import CRDController
from pyk8s.apiserver.apiextensions.types import CRD_RESOURCE
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.registry import Registry, build_registry
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WriteOptions
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.schema import REGISTRY
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gizmos.unit.example.com"},
    "spec": {"group": "unit.example.com", "scope": "Namespaced",
             "names": {"plural": "gizmos", "kind": "Gizmo"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {"type": "object", "properties": {
                     "size": {"type": "integer", "default": 2}}}}}}}]},
}


@pytest.fixture
async def served() -> AsyncIterator[Registry]:
    storage = open_storage("memory://")
    await storage.start()
    reg = build_registry(SCHEME, storage)
    await bootstrap(reg, api_address="127.0.0.1", api_port=6443)
    task = asyncio.create_task(CRDController(reg).run())
    try:
        yield reg
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await reg.close()
        await storage.close()
    assert SCHEME.get("unit.example.com", "v1", "gizmos") is None  # the controller unserves on stop
    assert REGISTRY.get("com.example.unit.v1.Gizmo") is None


async def _until(check: Any, what: str) -> Any:
    for _ in range(100):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _conditions(crd: dict) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in crd.get("status", {}).get("conditions", [])}


async def test_served_established_and_cleaned_up(served: Registry) -> None:
    crds = served.storage_for(CRD_RESOURCE)
    await crds.create("", copy.deepcopy(CRD), WriteOptions())

    async def established() -> Any:
        crd = await crds.get("", "gizmos.unit.example.com")
        return crd if _conditions(crd).get("Established") == ("True", "InitialNamesAccepted") else None

    crd = await _until(established, "Established")
    assert _conditions(crd)["NamesAccepted"] == ("True", "NoConflicts")
    assert crd["spec"]["names"]["singular"] == "gizmo" and crd["spec"]["names"]["listKind"] == "GizmoList"
    rt = SCHEME.get("unit.example.com", "v1", "gizmos")
    assert rt is not None and rt.namespaced
    store = served.storage_for(rt)
    obj = await store.create("default", {"apiVersion": "unit.example.com/v1", "kind": "Gizmo",
                                         "metadata": {"name": "g", "namespace": "default"}, "spec": {}},
                             WriteOptions())
    assert obj["spec"] == {"size": 2}

    await crds.delete("", "gizmos.unit.example.com", DeleteOptions())

    async def gone() -> bool:
        try:
            await crds.get("", "gizmos.unit.example.com")
        except StatusError as exc:
            return exc.code == 404
        return False

    await _until(gone, "the CRD to go")
    listed = await served.storage.list("/registry/unit.example.com/gizmos/")
    assert listed.items == []
    await _until(lambda: _async(SCHEME.get("unit.example.com", "v1", "gizmos") is None), "unserving")


async def _async(value: Any) -> Any:
    return value


async def test_conflicting_names_are_not_accepted(served: Registry) -> None:
    crds = served.storage_for(CRD_RESOURCE)
    await crds.create("", copy.deepcopy(CRD), WriteOptions())
    other = copy.deepcopy(CRD)
    other["metadata"]["name"] = "things.unit.example.com"
    other["spec"]["names"] = {"plural": "things", "kind": "Gizmo"}
    await _until(lambda: _established(crds, "gizmos.unit.example.com"), "the first CRD")
    await crds.create("", other, WriteOptions())

    async def refused() -> Any:
        crd = await crds.get("", "things.unit.example.com")
        return _conditions(crd).get("NamesAccepted", ("", ""))[0] == "False" and crd

    crd = await _until(refused, "NamesAccepted False")
    cond = next(c for c in crd["status"]["conditions"] if c["type"] == "NamesAccepted")
    assert (cond["reason"], cond["message"]) == ("SingularConflict", '"gizmo" is already in use')
    assert SCHEME.get("unit.example.com", "v1", "things") is None
    listed = await served.storage_for(CRD_RESOURCE).list("", ListOptions())
    assert len(listed["items"]) == 2


async def _established(crds: Any, name: str) -> bool:
    return _conditions(await crds.get("", name)).get("Established", ("", ""))[0] == "True"
