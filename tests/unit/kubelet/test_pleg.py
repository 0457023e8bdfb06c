"""The PLEG queues exactly the pods whose sandboxes or containers changed between relists."""

from __future__ import annotations

from pyk8s.kubelet.kuberuntime import labels
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
