"""Job and TTL-after-finished controllers against a real ``pyk8s server``.

No kubelet runs here: pods stay Pending until a test writes their status
(Running, or Succeeded/Failed with a terminated container), which is what
drives the Job controller.  The manager runs with ``job_backoff_base`` 2 s
so the back-off between failed retries is visible but short.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from pyk8s.api.core_v1.helpers import timestamps
from pyk8s.client.rest import Client
from pyk8s.controllers import jobpods
from pyk8s.controllers.manager import ControllerManager
from pyk8s.machinery.scheme import SCHEME
from pyk8s.testing.cluster import ServerProcess
from tests.integration.controllers.test_controllers_against_server import eventually, gone, new_namespace

PODS = SCHEME.get("", "v1", "pods")
JOBS = SCHEME.get("batch", "v1", "jobs")
EVENTS = SCHEME.get("", "v1", "events")
BACKOFF_BASE = 2


@pytest.fixture
async def job_manager(api_server: ServerProcess) -> AsyncIterator[ControllerManager]:
    c = Client.from_kubeconfig(api_server.kubeconfig, field_manager="kube-controller-manager")
    cm = ControllerManager(c, controllers=["job-controller", "ttl-after-finished-controller",
                                           "garbage-collector-controller"],
                           options={"job_backoff_base": BACKOFF_BASE})
    task = asyncio.create_task(cm.run())
    try:
        await asyncio.wait_for(cm.ready.wait(), 20)
        yield cm
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await c.close()


def job_body(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "c", "image": "busybox"}]}}, **spec}}


async def job_pods(client: Client, ns: str, name: str, *, active: bool = False) -> list[dict[str, Any]]:
    items = (await client.list(PODS, namespace=ns, label_selector={"batch.kubernetes.io/job-name": name}))["items"]
    if active:
        items = [p for p in items if not p["metadata"].get("deletionTimestamp")
                 and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    return sorted(items, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))


async def finish(client: Client, pod: dict[str, Any], phase: str, code: int | None = None) -> None:
    """What a kubelet reports when the pod's only container exits."""
    now = timestamps.format_time(datetime.now(UTC))
    code = (0 if phase == "Succeeded" else 1) if code is None else code
    pod = dict(pod)
    pod["status"] = {"phase": phase, "containerStatuses": [{
        "name": "c", "image": "busybox", "imageID": "", "ready": False, "restartCount": 0,
        "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                 "startedAt": now, "finishedAt": now}}}]}
    await client.update_status(PODS, pod, namespace=pod["metadata"]["namespace"])


async def wait_active(client: Client, ns: str, name: str, count: int) -> list[dict[str, Any]]:
    async def check() -> list | None:
        pods = await job_pods(client, ns, name, active=True)
        return pods if len(pods) == count else None

    return await eventually(check)


def condition(j: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in (j.get("status") or {}).get("conditions") or [] if c["type"] == ctype), None)


async def wait_condition(client: Client, ns: str, name: str, ctype: str, within: float = 15) -> dict[str, Any]:
    async def check() -> dict | None:
        j = await client.get(JOBS, name, namespace=ns)
        cond = condition(j, ctype)
        return j if cond and cond["status"] == "True" else None

    return await eventually(check, within=within)


async def reasons(client: Client, ns: str, name: str) -> list[tuple[str, str, str]]:
    events = (await client.list(EVENTS, namespace=ns))["items"]
    return [(e["type"], e["reason"], e["message"]) for e in events
            if e["involvedObject"]["kind"] == "Job" and e["involvedObject"]["name"] == name]


async def test_completions_with_parallelism(client: Client, job_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(JOBS, job_body("pi", completions=3, parallelism=2), namespace=ns)
    first = await wait_active(client, ns, "pi", 2)
    for pod in first:
        assert jobpods.TRACKING_FINALIZER in pod["metadata"]["finalizers"]
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
        assert pod["metadata"]["name"].startswith("pi-")
    async def counted() -> dict | None:  # the status write follows the pod creations: wait for it
        j = await client.get(JOBS, "pi", namespace=ns)
        return j if (j.get("status") or {}).get("active") == 2 else None

    j = await eventually(counted)
    assert j["status"]["startTime"]
    for pod in first:
        await finish(client, pod, "Succeeded")
    [third] = await wait_active(client, ns, "pi", 1)  # only one more is wanted: 3 - 2 succeeded
    await finish(client, third, "Succeeded")
    j = await wait_condition(client, ns, "pi", "Complete")
    st = j["status"]
    assert (st["succeeded"], st.get("failed", 0), st.get("active", 0)) == (3, 0, 0)
    assert st["completionTime"] and condition(j, "SuccessCriteriaMet")["reason"] == "CompletionsReached"
    assert condition(j, "Complete")["reason"] == "CompletionsReached"
    pods = await job_pods(client, ns, "pi")
    assert len(pods) == 3
    assert all(jobpods.TRACKING_FINALIZER not in (p["metadata"].get("finalizers") or []) for p in pods)

    async def events() -> list | None:
        got = await reasons(client, ns, "pi")
        return got if ("Normal", "Completed", "Job completed") in got else None

    got = await eventually(events)
    created = [m for _, r, m in got if r == "SuccessfulCreate"]
    assert sorted(created) == sorted(f"Created pod: {p['metadata']['name']}" for p in pods)


async def test_backoff_limit_exceeded(client: Client, job_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(JOBS, job_body("busybox", backoffLimit=2), namespace=ns)
    for _ in range(3):
        [pod] = await wait_active(client, ns, "busybox", 1)
        await finish(client, pod, "Failed")
    j = await wait_condition(client, ns, "busybox", "Failed")
    failed = condition(j, "Failed")
    assert (failed["reason"], failed["message"]) == ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    assert j["status"]["failed"] == 3 and "succeeded" not in j["status"] and "completionTime" not in j["status"]
    await asyncio.sleep(2 * BACKOFF_BASE + 1)  # nothing more is created after the failure
    pods = await job_pods(client, ns, "busybox")
    assert len(pods) == 3
    created = [timestamps.parse_time(p["metadata"]["creationTimestamp"]) for p in pods]
    gaps = [(b - a).total_seconds() for a, b in zip(created, created[1:], strict=False)]
    assert gaps[0] >= BACKOFF_BASE and gaps[1] >= 2 * BACKOFF_BASE, gaps
    assert ("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit") in \
        await reasons(client, ns, "busybox")


async def test_indexed_job(client: Client, job_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(JOBS, job_body("idx", completions=3, parallelism=3, completionMode="Indexed"), namespace=ns)
    pods = await wait_active(client, ns, "idx", 3)
    by_index = {p["metadata"]["annotations"][jobpods.COMPLETION_INDEX]: p for p in pods}
    assert sorted(by_index) == ["0", "1", "2"]
    for index, pod in by_index.items():
        assert pod["metadata"]["name"].startswith(f"idx-{index}-")
        assert pod["spec"]["hostname"] == f"idx-{index}"
        assert pod["metadata"]["labels"][jobpods.COMPLETION_INDEX] == index
    await finish(client, by_index["1"], "Succeeded")

    async def one_done() -> bool:
        return (await client.get(JOBS, "idx", namespace=ns))["status"].get("completedIndexes") == "1"

    await eventually(one_done)
    for index in ("0", "2"):
        await finish(client, by_index[index], "Succeeded")
    j = await wait_condition(client, ns, "idx", "Complete")
    assert j["status"]["completedIndexes"] == "0-2" and j["status"]["succeeded"] == 3


async def test_suspend_and_resume(client: Client, job_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(JOBS, job_body("held", suspend=True, parallelism=2, completions=2), namespace=ns)
    j = await wait_condition(client, ns, "held", "Suspended")
    cond = condition(j, "Suspended")
    assert (cond["reason"], cond["message"]) == ("JobSuspended", "Job suspended")
    assert not await job_pods(client, ns, "held") and "startTime" not in j["status"]
    await client.patch(JOBS, "held", {"spec": {"suspend": False}}, namespace=ns, patch_type="merge")
    await wait_active(client, ns, "held", 2)

    async def resumed() -> dict | None:
        cond = condition(await client.get(JOBS, "held", namespace=ns), "Suspended")
        return cond if cond and cond["status"] == "False" else None

    assert (await eventually(resumed))["reason"] == "JobResumed"
    # Suspending again removes the running pods without counting them as failed.
    await client.patch(JOBS, "held", {"spec": {"suspend": True}}, namespace=ns, patch_type="merge")

    async def emptied() -> bool:
        return not await job_pods(client, ns, "held")

    await eventually(emptied)
    assert "failed" not in (await client.get(JOBS, "held", namespace=ns))["status"]


async def test_active_deadline(client: Client, job_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(JOBS, job_body("slow", activeDeadlineSeconds=2), namespace=ns)
    await wait_active(client, ns, "slow", 1)
    j = await wait_condition(client, ns, "slow", "Failed")
    cond = condition(j, "Failed")
    assert (cond["reason"], cond["message"]) == ("DeadlineExceeded", "Job was active longer than specified deadline")
    assert j["status"]["failed"] == 1 and not j["status"].get("active")

    async def pods_gone() -> bool:
        return not await job_pods(client, ns, "slow")

    await eventually(pods_gone)  # deleted, then released from the tracking finalizer


async def test_ttl_after_finished_deletes_job_and_pods(client: Client, job_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(JOBS, job_body("short", ttlSecondsAfterFinished=1), namespace=ns)
    [pod] = await wait_active(client, ns, "short", 1)
    await finish(client, pod, "Succeeded")
    await wait_condition(client, ns, "short", "Complete")

    async def job_gone() -> bool:
        return await gone(client, JOBS, "short", ns)

    await eventually(job_gone)
    assert not await job_pods(client, ns, "short")


async def test_deleted_job_releases_its_pods(client: Client, job_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    await client.create(JOBS, job_body("orphaned", parallelism=2, completions=2), namespace=ns)
    await wait_active(client, ns, "orphaned", 2)
    await client.delete(JOBS, "orphaned", namespace=ns, propagation_policy="Background")

    async def pods_gone() -> bool:
        return not await job_pods(client, ns, "orphaned")

    await eventually(pods_gone)  # the GC deletes them and the finalizer is taken off the orphans


async def test_pod_failure_policy(client: Client, job_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [143]}},
                        {"action": "FailJob", "onExitCodes": {"containerName": "c", "operator": "In", "values": [42]}}]}
    await client.create(JOBS, job_body("policed", backoffLimit=0, podFailurePolicy=policy), namespace=ns)
    [pod] = await wait_active(client, ns, "policed", 1)
    await finish(client, pod, "Failed", code=143)  # ignored: replaced, not counted against backoffLimit 0
    [again] = await wait_active(client, ns, "policed", 1)
    await finish(client, again, "Failed", code=42)
    j = await wait_condition(client, ns, "policed", "Failed")
    cond = condition(j, "Failed")
    assert (cond["reason"], cond["message"]) == (
        "PodFailurePolicy",
        f"Container c for pod {ns}/{again['metadata']['name']} failed with exit code 42 matching FailJob rule at index 1")
    assert j["status"]["failed"] == 1


async def test_manual_selector_adopts_orphan(client: Client, job_manager: ControllerManager) -> None:
    ns = await new_namespace(client)
    stray = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "labels": {"app": "batch"}},
             "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}
    await client.create(PODS, stray, namespace=ns)
    await asyncio.sleep(0.5)  # let the controller's pod cache see it before the Job appears
    body = job_body("adopter", manualSelector=True, selector={"matchLabels": {"app": "batch"}})
    body["spec"]["template"]["metadata"] = {"labels": {"app": "batch"}}
    made = await client.create(JOBS, body, namespace=ns)

    async def adopted() -> dict | None:
        pod = await client.get(PODS, "stray", namespace=ns)
        refs = pod["metadata"].get("ownerReferences") or []
        return pod if refs and refs[0]["uid"] == made["metadata"]["uid"] else None

    pod = await eventually(adopted)
    assert jobpods.TRACKING_FINALIZER in pod["metadata"]["finalizers"]
    await finish(client, pod, "Succeeded")
    j = await wait_condition(client, ns, "adopter", "Complete")
    assert j["status"]["succeeded"] == 1
    pods = (await client.list(PODS, namespace=ns))["items"]
    assert [p["metadata"]["name"] for p in pods] == ["stray"]  # the orphan did the work: nothing created
