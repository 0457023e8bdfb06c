"""Foreground deletion through an ownership cycle (issue 12 §4), against a real ``pyk8s server``.

As upstream's conformance test "should not be blocked by dependency circle": three objects
own each other in a ring with blockOwnerDeletion; a foreground delete of one must remove
all three instead of each waiting on the next for ever.
"""

from __future__ import annotations

from pyk8s.client.rest import Client
from pyk8s.controllers.manager import ControllerManager
from pyk8s.machinery.scheme import SCHEME
from tests.integration.controllers.test_controllers_against_server import eventually, gone, new_namespace

CM = SCHEME.get("", "v1", "configmaps")


def owned_by(name: str, owner: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
         "blockOwnerDeletion": True}]}}


async def ring(client: Client, ns: str, size: int) -> list[str]:
    first = await client.create(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c0"}}, namespace=ns)
    prev = first
    for i in range(1, size):
        prev = await client.create(CM, owned_by(f"c{i}", prev), namespace=ns)
    first = await client.get(CM, "c0", namespace=ns)
    first["metadata"]["ownerReferences"] = owned_by("c0", prev)["metadata"]["ownerReferences"]
    await client.update(CM, first, namespace=ns)
    return [f"c{i}" for i in range(size)]


async def test_foreground_delete_through_an_ownership_cycle_completes(client: Client,
                                                                       manager: ControllerManager) -> None:
    for size in (3, 2):
        ns = await new_namespace(client)
        names = await ring(client, ns, size)
        await client.delete(CM, "c0", namespace=ns, propagation_policy="Foreground")

        async def all_gone(ns: str = ns, names: list[str] = names) -> bool:
            return all([await gone(client, CM, n, ns) for n in names])

        await eventually(all_gone, within=30)
