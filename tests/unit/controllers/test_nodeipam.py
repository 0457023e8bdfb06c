"""Node IPAM: pod CIDRs per node, lowest free block, reused after delete."""

from __future__ import annotations

import asyncio

import pyk8s.api  # noqa: E402,F401
from pyk8s.controllers.nodeipam import NODES, CIDRAllocator, NodeIpamController  # noqa: E402
from tests.unit.controllers.controller_env import Env, eventually, start_env, stop_env  # noqa: E402


def test_allocator_lowest_free_and_bounds() -> None:
    a = CIDRAllocator("10.244.0.0/16", 24)
    assert a.next_free(set()) == "10.244.0.0/24"
    assert a.next_free({"10.244.0.0/24", "10.244.2.0/24"}) == "10.244.1.0/24"
    assert a.contains("10.244.7.0/24") and not a.contains("10.0.0.0/24")
    full = CIDRAllocator("10.0.0.0/30", 31)
    assert full.next_free({"10.0.0.0/31", "10.0.0.2/31"}) is None


def cidr(env: Env, name: str) -> str | None:
    node = env.obj("v1/nodes", "", name)
    return (node or {}).get("spec", {}).get("podCIDR")


async def test_assigns_distinct_blocks_respecting_existing_and_reuses_freed() -> None:
    e, tasks = await start_env(NodeIpamController, {"cluster_cidr": "10.9.0.0/16"})
    try:
        # A node allocated elsewhere (e.g. by a previous instance): its block must be honoured.
        await e.srv.put("v1/nodes", {"metadata": {"name": "old", "uid": "u0"},
                                     "spec": {"podCIDR": "10.9.0.0/24", "podCIDRs": ["10.9.0.0/24"]}}, "ADDED")
        for name in ("a", "b"):
            await e.client.create(NODES, {"metadata": {"name": name}})
        await eventually(lambda: cidr(e, "a") is not None and cidr(e, "b") is not None)
        assert {cidr(e, "a"), cidr(e, "b")} == {"10.9.1.0/24", "10.9.2.0/24"}
        assert e.obj("v1/nodes", "", "a")["spec"]["podCIDRs"] == [cidr(e, "a")]
        freed = cidr(e, "a")
        await e.client.delete(NODES, "a")
        await asyncio.sleep(0.05)
        await e.client.create(NODES, {"metadata": {"name": "c"}})
        await eventually(lambda: cidr(e, "c") is not None)
        assert cidr(e, "c") == freed
    finally:
        await stop_env(e, tasks)
