"""The agent renders from its informers' caches and applies only when the table would change."""

from __future__ import annotations

import asyncio

from pyk8s.client.kubeconfig import ClientConfig
from pyk8s.client.rest import Client
from pyk8s.networkpolicy.agent import NetworkPolicyAgent


def _pod(name: str, node: str, ip: str, labels: dict[str, str]) -> dict[str, object]:
    return {"metadata": {"namespace": "default", "name": name, "labels": labels},
            "spec": {"nodeName": node, "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}


def test_sync_applies_the_rendered_table_once_until_something_changes() -> None:
    async def scenario() -> list[str]:
        applied: list[str] = []

        async def apply(script: str) -> None:
            applied.append(script)

        agent = NetworkPolicyAgent(Client(ClientConfig(server="http://127.0.0.1:1")), "node-1", apply=apply)
        agent.namespaces.store.add({"metadata": {"name": "default", "labels": {}}})
        agent.pods.store.add(_pod("web", "node-1", "10.244.0.5", {"app": "web"}))
        agent.pods.store.add(_pod("other", "node-2", "10.244.1.5", {"app": "web"}))
        await agent.sync()
        await agent.sync()  # nothing changed: nothing applied
        agent.policies.store.add({"metadata": {"namespace": "default", "name": "deny"},
                                  "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
        await agent.sync()
        await agent.sync(force=True)  # the periodic resync re-installs even when unchanged
        return applied

    applied = asyncio.run(scenario())
    assert len(applied) == 3
    assert "vmap" not in applied[0]
    assert "ip daddr vmap { 10.244.0.5 : jump ingress-0 }" in applied[1]
    assert "10.244.1.5" not in applied[1]  # the other node's pod is that node's agent's business
    assert applied[2] == applied[1]


def test_an_identity_that_may_not_list_policies_stops_the_agent_with_an_error(caplog) -> None:  # type: ignore[no-untyped-def]
    from pyk8s.client.errors import ApiError

    class ForbiddenClient(Client):
        async def list(self, rt, **kwargs):  # type: ignore[no-untyped-def,override]
            raise ApiError({"code": 403, "reason": "Forbidden",
                            "message": f'{rt.plural} is forbidden: User "system:node:n1" cannot list resource'})

    async def scenario() -> None:
        agent = NetworkPolicyAgent(ForbiddenClient(ClientConfig(server="http://127.0.0.1:1")), "n1")
        await asyncio.wait_for(agent.run(), 5)  # returns at once instead of retrying forever

    asyncio.run(scenario())
    assert "NetworkPolicies are NOT enforced on node n1: cannot list networkpolicies" in caplog.text
