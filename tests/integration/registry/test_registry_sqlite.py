"""The registry over the sqlite driver: state (including Service allocations) survives a restart."""

from pathlib import Path

import pytest

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.registry import build_registry
from pyk8s.apiserver.registry.rest import ListOptions, WriteOptions
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage


def service(name: str, **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}], **spec}}


async def test_allocations_survive_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    storage = open_storage(url)
    await storage.start()
    reg = build_registry(SCHEME, storage)
    await bootstrap(reg, api_address="127.0.0.1", api_port=6443)
    svcs = reg.store("", "services")
    assert svcs is not None
    created = await svcs.create("default", service("a", type="NodePort"), WriteOptions())
    ip, port = created["spec"]["clusterIP"], created["spec"]["ports"][0]["nodePort"]
    await reg.close()
    await storage.close()

    storage = open_storage(url)
    await storage.start()
    try:
        reg = build_registry(SCHEME, storage)
        await bootstrap(reg, api_address="127.0.0.1", api_port=6443)
        svcs = reg.store("", "services")
        assert svcs is not None
        with pytest.raises(StatusError) as exc:
            await svcs.create("default", service("b", clusterIP=ip), WriteOptions())
        assert "already allocated" in exc.value.message
        clash = service("c", type="NodePort")
        clash["spec"]["ports"][0]["nodePort"] = port
        with pytest.raises(StatusError):
            await svcs.create("default", clash, WriteOptions())
        names = [o["metadata"]["name"] for o in (await svcs.list("default", ListOptions()))["items"]]
        assert names == ["a", "kubernetes"]
    finally:
        await reg.close()
        await storage.close()


async def test_pagination_under_concurrent_writes(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/p.db")
    await storage.start()
    try:
        reg = build_registry(SCHEME, storage)
        await bootstrap(reg, api_address="127.0.0.1", api_port=6443)
        cms = reg.store("", "configmaps")
        assert cms is not None
        for i in range(20):
            await cms.create("default", {"metadata": {"name": f"c{i:02d}"}}, WriteOptions())
        page = await cms.list("default", ListOptions(limit=7))
        seen = [o["metadata"]["name"] for o in page["items"]]
        await cms.delete("default", "c15", __import__("pyk8s.apiserver.registry.rest",
                                                      fromlist=["DeleteOptions"]).DeleteOptions())
        await cms.create("default", {"metadata": {"name": "c10a"}}, WriteOptions())
        while page["metadata"].get("continue"):
            page = await cms.list("default", ListOptions(limit=7, continue_token=page["metadata"]["continue"]))
            seen += [o["metadata"]["name"] for o in page["items"]]
        assert seen == [f"c{i:02d}" for i in range(20)]
    finally:
        await reg.close()
        await storage.close()
