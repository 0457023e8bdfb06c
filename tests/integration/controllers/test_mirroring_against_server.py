"""Against a real server with every controller: hand-written Endpoints are mirrored into
EndpointSlices, while the ``kubernetes`` Service keeps the API server's own slice (not mirrored)."""

from __future__ import annotations

from pyk8s.client.rest import Client
from pyk8s.controllers.endpointslicemirroring import MANAGED_BY
from pyk8s.controllers.manager import ControllerManager
from tests.integration.controllers.test_controllers_against_server import (
    ENDPOINTS,
    SERVICES,
    SLICES,
    eventually,
    new_namespace,
)

MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"


async def test_handwritten_endpoints_are_mirrored(client: Client, manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(SERVICES, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
                                   "spec": {"ports": [{"name": "pg", "port": 5432}]}}, namespace=ns)
    await client.create(ENDPOINTS, {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "db"},
                                    "subsets": [{"addresses": [{"ip": "192.0.2.10"}],
                                                 "ports": [{"name": "pg", "port": 5432}]}]}, namespace=ns)

    async def mirrored() -> list:
        items = (await client.list(SLICES, namespace=ns, label_selector={"kubernetes.io/service-name": "db"}))["items"]
        return items if items and items[0].get("endpoints") else []

    [slice_] = await eventually(mirrored)
    assert slice_["metadata"]["labels"][MANAGED_BY_LABEL] == MANAGED_BY
    assert slice_["endpoints"] == [{"addresses": ["192.0.2.10"], "conditions": {"ready": True}}]
    assert slice_["ports"] == [{"name": "pg", "port": 5432, "protocol": "TCP"}]
    await client.delete(ENDPOINTS, "db", namespace=ns)

    async def cleaned() -> bool:
        return not (await client.list(SLICES, namespace=ns))["items"]

    await eventually(cleaned)


async def test_kubernetes_service_keeps_its_slice(client: Client, manager: ControllerManager) -> None:
    found = (await client.list(SLICES, namespace="default",
                               label_selector={"kubernetes.io/service-name": "kubernetes"}))["items"]
    assert [s["metadata"]["labels"][MANAGED_BY_LABEL] for s in found] == ["endpointslice-controller.k8s.io"]
    assert found[0]["endpoints"] and found[0]["ports"][0]["name"] == "https"
