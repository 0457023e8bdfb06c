"""The PLEG queues exactly the pods whose sandboxes or containers changed between relists."""

from __future__ import annotations

from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.kuberuntime.podstatus import ContainerStatus, PodStatus
from pyk8s.kubelet.pleg import PLEG
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.testing.fake_clock import FakeClock


class Listing:
    def __init__(self) -> None:
        self.sandboxes: list[ri.PodSandbox] = []
        self.containers: list[ri.Container] = []

    async def list_pod_sandbox(self, filter: ri.PodSandboxFilter | None = None) -> list[ri.PodSandbox]:
        return list(self.sandboxes)

    async def list_containers(self, filter: ri.ContainerFilter | None = None) -> list[ri.Container]:
        return list(self.containers)


def container(cid: str, uid: str, state: ri.ContainerState) -> ri.Container:
    return ri.Container(id=cid, pod_sandbox_id="s-" + uid, metadata=ri.ContainerMetadata("app"), image="busybox",
                        image_ref="sha", state=state, created_at=0, labels={labels.POD_UID: uid})


async def test_relist_reports_changed_pods_only() -> None:
    runtime = Listing()
    changed: list[str] = []
    pleg = PLEG(runtime, changed.append, clock=FakeClock())  # type: ignore[arg-type]
    runtime.containers = [container("a", "u1", ri.ContainerState.RUNNING), container("b", "u2", ri.ContainerState.RUNNING)]
    await pleg.relist()
    assert sorted(changed) == ["u1", "u2"]
    changed.clear()
    await pleg.relist()
    assert changed == []
    runtime.containers[1] = container("b", "u2", ri.ContainerState.EXITED)
    await pleg.relist()
    assert changed == ["u2"]
    changed.clear()
    runtime.containers = runtime.containers[1:]
    await pleg.relist()
    assert changed == ["u1"], "a vanished container (removed from outside) is a change too"
    assert pleg.pod_uids == {"u2"}
    assert pleg.healthy()


async def test_a_sync_observed_state_is_not_reported_again_but_later_changes_are() -> None:
    runtime = Listing()
    changed: list[str] = []
    pleg = PLEG(runtime, changed.append, clock=FakeClock())  # type: ignore[arg-type]
    await pleg.relist()
    # A pod sync started u1's container and read the runtime back itself.
    runtime.containers = [container("a", "u1", ri.ContainerState.RUNNING)]
    pleg.observed(PodStatus(uid="u1", containers=[
        ContainerStatus(id="a", name="app", state=ri.ContainerState.RUNNING, created_at=0)]))
    await pleg.relist()
    assert changed == [], "the sync already acted on and reported this state"
    assert pleg.pod_uids == {"u1"}
    runtime.containers = [container("a", "u1", ri.ContainerState.EXITED)]
    await pleg.relist()
    assert changed == ["u1"], "what happens after the sync's view is reported as before"


async def test_changes_during_a_sync_wait_for_its_end_and_are_never_lost() -> None:
    runtime = Listing()
    changed: list[str] = []
    busy: set[str] = set()
    pleg = PLEG(runtime, changed.append, clock=FakeClock(), busy=busy.__contains__)  # type: ignore[arg-type]
    runtime.containers = [container("a", "u1", ri.ContainerState.RUNNING)]
    await pleg.relist()
    changed.clear()
    busy.add("u1")  # a sync of u1 runs: it restarts the container
    runtime.containers = [container("a", "u1", ri.ContainerState.EXITED), container("b", "u1", ri.ContainerState.CREATED)]
    await pleg.relist()
    assert changed == [], "the running sync reads the runtime itself"
    busy.clear()  # it ended without handing a settled view to observed(): the relist reports what changed
    await pleg.relist()
    assert changed == ["u1"]
    changed.clear()
    busy.add("u2")  # a new pod's first sync
    runtime.containers.append(container("c", "u2", ri.ContainerState.RUNNING))
    await pleg.relist()
    assert changed == [] and pleg.pod_uids == {"u1"}
    busy.clear()
    pleg.observed(PodStatus(uid="u2", containers=[
        ContainerStatus(id="c", name="app", state=ri.ContainerState.RUNNING, created_at=0)]))
    await pleg.relist()
    assert changed == [] and pleg.pod_uids == {"u1", "u2"}
