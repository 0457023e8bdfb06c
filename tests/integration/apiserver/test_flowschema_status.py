"""FlowSchemas carry upstream's Dangling condition, kept by a loop inside the API server."""

from __future__ import annotations

import asyncio

from pyk8s.apiserver.flowcontrolstatus import FlowSchemaStatus
from pyk8s.apiserver.registry.rest import WriteOptions
from tests.integration.apiserver.realserver import registry  # noqa: F401

GROUP = "flowcontrol.apiserver.k8s.io"


def _dangling(fs: dict) -> dict:
    return next(c for c in fs["status"]["conditions"] if c["type"] == "Dangling")


async def test_dangling_condition_follows_the_priority_levels(registry):  # noqa: F811
    schemas = registry.store(GROUP, "flowschemas")
    levels = registry.store(GROUP, "prioritylevelconfigurations")
    await FlowSchemaStatus(registry).reconcile()
    cond = _dangling(await schemas.get("", "catch-all"))
    assert cond["status"] == "False" and cond["reason"] == "Found"
    assert cond["message"] == ('This FlowSchema references the PriorityLevelConfiguration object named "catch-all" '
                               'and it exists')
    await schemas.create("", {"apiVersion": f"{GROUP}/v1", "kind": "FlowSchema", "metadata": {"name": "mine"},
                              "spec": {"priorityLevelConfiguration": {"name": "later"}, "matchingPrecedence": 500,
                                       "rules": []}}, WriteOptions())
    loop = FlowSchemaStatus(registry)
    task = asyncio.create_task(loop.run())
    try:
        for _ in range(100):
            fs = await schemas.get("", "mine")
            if (fs.get("status") or {}).get("conditions"):
                break
            await asyncio.sleep(0.05)
        assert _dangling(fs)["status"] == "True" and _dangling(fs)["reason"] == "NotFound"
        await levels.create("", {"apiVersion": f"{GROUP}/v1", "kind": "PriorityLevelConfiguration",
                                 "metadata": {"name": "later"},
                                 "spec": {"type": "Limited", "limited": {"limitResponse": {"type": "Reject"}}}},
                            WriteOptions())
        for _ in range(100):
            if _dangling(await schemas.get("", "mine"))["status"] == "False":
                break
            await asyncio.sleep(0.05)
        assert _dangling(await schemas.get("", "mine"))["reason"] == "Found"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
