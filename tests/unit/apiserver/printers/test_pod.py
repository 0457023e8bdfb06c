"""Pod READY / STATUS / RESTARTS, one rule per test."""

from datetime import UTC, datetime
from typing import Any

from pyk8s.apiserver.printers import to_table
from pyk8s.machinery.scheme import ResourceType

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)
POD = ResourceType("", "v1", "Pod", "pods", "pod", True)


def pod(*, containers: int = 1, status: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    spec = {"containers": [{"name": f"c{i}", "image": "busybox"} for i in range(containers)]}
    spec.update(extra.pop("spec", {}))
    meta = {"name": "p", "namespace": "default", "creationTimestamp": "2026-01-10T11:55:00Z"}
    meta.update(extra.pop("metadata", {}))
    return {"metadata": meta, "spec": spec, "status": status or {}}


def cells(obj: dict[str, Any]) -> list[Any]:
    return to_table(POD, [obj], now=NOW)["rows"][0]["cells"]


def running(ready: bool = True, restarts: int = 0, **kw: Any) -> dict[str, Any]:
    return {"name": kw.get("name", "c0"), "ready": ready, "restartCount": restarts, "state": {"running": {}}, **kw}


def test_pending_pod_without_statuses() -> None:
    assert cells(pod(status={"phase": "Pending"}))[:5] == ["p", "0/1", "Pending", "0", "5m"]


def test_running_ready_container() -> None:
    c = cells(pod(status={"phase": "Running", "containerStatuses": [running()]}))
    assert c[1:4] == ["1/1", "Running", "0"]


def test_ready_counts_only_ready_running_containers() -> None:
    statuses = [running(name="c0"), running(ready=False, name="c1")]
    assert cells(pod(containers=2, status={"phase": "Running", "containerStatuses": statuses}))[1] == "1/2"


def test_status_reason_overrides_phase() -> None:
    assert cells(pod(status={"phase": "Failed", "reason": "Evicted"}))[2] == "Evicted"


def test_scheduling_gated() -> None:
    status = {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
    }
    assert cells(pod(status=status))[2] == "SchedulingGated"


def test_waiting_reason_wins() -> None:
    status = {
        "phase": "Pending",
        "containerStatuses": [{"name": "c0", "state": {"waiting": {"reason": "ContainerCreating"}}}],
    }
    assert cells(pod(status=status))[2] == "ContainerCreating"


def test_containers_walked_last_to_first_so_first_container_wins() -> None:
    statuses = [
        {"name": "c0", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
        {"name": "c1", "state": {"waiting": {"reason": "ErrImagePull"}}},
    ]
    assert cells(pod(containers=2, status={"phase": "Running", "containerStatuses": statuses}))[2] == "CrashLoopBackOff"


def test_terminated_without_reason_gives_exit_code_or_signal() -> None:
    st = {"phase": "Failed", "containerStatuses": [{"name": "c0", "state": {"terminated": {"exitCode": 3}}}]}
    assert cells(pod(status=st))[2] == "ExitCode:3"
    st = {
        "phase": "Failed",
        "containerStatuses": [{"name": "c0", "state": {"terminated": {"exitCode": 137, "signal": 9}}}],
    }
    assert cells(pod(status=st))[2] == "Signal:9"


def test_completed_with_running_container_reads_running_or_not_ready() -> None:
    statuses = [running(name="c0"), {"name": "c1", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]
    base = {"phase": "Running", "containerStatuses": statuses}
    ready = dict(base, conditions=[{"type": "Ready", "status": "True"}])
    assert cells(pod(containers=2, status=ready))[2] == "Running"
    assert cells(pod(containers=2, status=base))[2] == "NotReady"


def test_init_container_progress_and_errors() -> None:
    spec = {"initContainers": [{"name": "i0"}, {"name": "i1"}]}
    done = {"name": "i0", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    running_init = {"name": "i1", "state": {"running": {}}}
    st = {"phase": "Pending", "initContainerStatuses": [done, running_init]}
    assert cells(pod(spec=spec, status=st))[2] == "Init:1/2"
    failed = {"name": "i1", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    assert (
        cells(pod(spec=spec, status={"phase": "Pending", "initContainerStatuses": [done, failed]}))[2] == "Init:Error"
    )
    no_reason = {"name": "i0", "state": {"terminated": {"exitCode": 2}}}
    assert (
        cells(pod(spec=spec, status={"phase": "Pending", "initContainerStatuses": [no_reason]}))[2] == "Init:ExitCode:2"
    )
    pulling = {"name": "i0", "state": {"waiting": {"reason": "ErrImagePull"}}}
    assert (
        cells(pod(spec=spec, status={"phase": "Pending", "initContainerStatuses": [pulling]}))[2] == "Init:ErrImagePull"
    )
    init_wait = {"name": "i0", "state": {"waiting": {"reason": "PodInitializing"}}}
    assert cells(pod(spec=spec, status={"phase": "Pending", "initContainerStatuses": [init_wait]}))[2] == "Init:0/2"


def test_sidecar_counts_in_ready_and_total() -> None:
    spec = {"initContainers": [{"name": "side", "restartPolicy": "Always"}]}
    side = {"name": "side", "ready": True, "started": True, "restartCount": 2, "state": {"running": {}}}
    st = {"phase": "Running", "initContainerStatuses": [side], "containerStatuses": [running()]}
    c = cells(pod(spec=spec, status=st))
    assert c[1:4] == ["2/2", "Running", "2"]


def test_restarts_with_last_termination_age() -> None:
    cs = running(restarts=3, lastState={"terminated": {"exitCode": 1, "finishedAt": "2026-01-10T11:50:00Z"}})
    assert cells(pod(status={"phase": "Running", "containerStatuses": [cs]}))[3] == "3 (10m ago)"
    assert cells(pod(status={"phase": "Running", "containerStatuses": [running(restarts=4)]}))[3] == "4"


def test_terminating_and_node_lost() -> None:
    meta = {"deletionTimestamp": "2026-01-10T11:59:00Z"}
    assert cells(pod(metadata=meta, status={"phase": "Running"}))[2] == "Terminating"
    assert cells(pod(metadata=meta, status={"phase": "Succeeded"}))[2] == "Succeeded"
    assert cells(pod(metadata=meta, status={"phase": "Running", "reason": "NodeLost"}))[2] == "Unknown"


def test_wide_columns() -> None:
    st = {
        "phase": "Running",
        "podIPs": [{"ip": "10.244.0.5"}],
        "nominatedNodeName": "n2",
        "conditions": [{"type": "gate-a", "status": "True"}, {"type": "gate-b", "status": "False"}],
    }
    spec = {"nodeName": "n1", "readinessGates": [{"conditionType": "gate-a"}, {"conditionType": "gate-b"}]}
    assert cells(pod(spec=spec, status=st))[5:] == ["10.244.0.5", "n1", "n2", "1/2"]
    assert cells(pod(status={"phase": "Pending"}))[5:] == ["<none>", "<none>", "<none>", "<none>"]


def test_table_shape_and_row_objects() -> None:
    obj = pod(status={"phase": "Succeeded"})
    table = to_table(POD, [obj], now=NOW, list_meta={"resourceVersion": "7", "continue": ""})
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "7", "continue": ""}
    names = [(c["name"], c["type"], c["priority"]) for c in table["columnDefinitions"]]
    assert names == [
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Status", "string", 0),
        ("Restarts", "string", 0),
        ("Age", "string", 0),
        ("IP", "string", 1),
        ("Node", "string", 1),
        ("Nominated Node", "string", 1),
        ("Readiness Gates", "string", 1),
    ]
    assert table["columnDefinitions"][0]["format"] == "name"
    row = table["rows"][0]
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }
    assert row["conditions"][0]["reason"] == "Succeeded"
    full = to_table(POD, [obj], include_object="Object", now=NOW)["rows"][0]["object"]
    assert full["kind"] == "Pod" and full["apiVersion"] == "v1" and full["spec"] == obj["spec"]
    none = to_table(POD, [obj], include_object="None", with_column_definitions=False, now=NOW)
    assert "object" not in none["rows"][0] and none["columnDefinitions"] == []
