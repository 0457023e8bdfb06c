"""Pods on simulated nodes: Running on binding, readiness, exits per restartPolicy, deletion."""

from __future__ import annotations

import ipaddress
from typing import Any

from client_fake_apiserver import FakeApiServer

from pyk8s.client.rest import PODS, Client
from pyk8s.kubelet.simulated.agent import SimulatedAgent
from pyk8s.kubelet.simulated.nodes import node_ip
from pyk8s.testing.fake_clock import FakeClock

from .conftest import eventually, running

Obj = dict[str, Any]


def pod(name: str, *, node: str = "sim-1", policy: str = "Always", annotations: dict[str, str] | None = None,
        gates: list[str] | None = None) -> Obj:
    spec: Obj = {"containers": [{"name": "app", "image": "busybox:1.36"}, {"name": "side", "image": "nginx:1"}],
                 "initContainers": [{"name": "init", "image": "busybox:1.36"}],
                 "restartPolicy": policy, "nodeName": node}
    if gates:
        spec["readinessGates"] = [{"conditionType": g} for g in gates]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "annotations": annotations or {}}, "spec": spec}


def stored(srv: FakeApiServer, name: str) -> Obj | None:
    return srv.objects.get(("v1/pods", "default", name))


def status(srv: FakeApiServer, name: str) -> Obj:
    return (stored(srv, name) or {}).get("status") or {}


def cond(srv: FakeApiServer, name: str, kind: str) -> Obj:
    return next((c for c in status(srv, name).get("conditions") or [] if c["type"] == kind), {})


def cstate(srv: FakeApiServer, name: str, container: str = "app") -> Obj:
    return next((c for c in status(srv, name).get("containerStatuses") or [] if c["name"] == container), {})


async def test_bound_pod_goes_running_and_ready(agent: SimulatedAgent, client: Client,
                                                fake_server: FakeApiServer) -> None:
    created = await client.create(PODS, pod("web"))
    await eventually(lambda: status(fake_server, "web").get("phase") == "Running")
    st = status(fake_server, "web")
    assert st["hostIP"] == node_ip(1) and st["hostIPs"] == [{"ip": node_ip(1)}]
    assert ipaddress.ip_address(st["podIP"]) in ipaddress.ip_network("10.244.1.0/24")
    assert st["podIPs"] == [{"ip": st["podIP"]}] and st["startTime"]
    kinds = {c["type"]: c["status"] for c in st["conditions"]}
    assert kinds == {"PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
                     "ContainersReady": "True", "PodScheduled": "True"}
    uid = created["metadata"]["uid"]
    app = cstate(fake_server, "web")
    assert app["containerID"] == f"sim://{uid}-app" and app["image"] == "busybox:1.36" and app["imageID"]
    assert app["ready"] and app["started"] and app["restartCount"] == 0 and app["state"]["running"]["startedAt"]
    init = st["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed" and init["state"]["terminated"]["exitCode"] == 0
    # Pods on other nodes are not ours.
    await client.create(PODS, pod("elsewhere", node="real-node"))
    await client.create(PODS, pod("second"))
    await eventually(lambda: status(fake_server, "second").get("phase") == "Running")
    assert status(fake_server, "second")["podIP"] != st["podIP"]
    assert status(fake_server, "elsewhere") == {}


async def test_status_write_uses_status_subresource(agent: SimulatedAgent, client: Client,
                                                    fake_server: FakeApiServer) -> None:
    await client.create(PODS, pod("sub"))
    await eventually(lambda: status(fake_server, "sub").get("phase") == "Running")
    puts = [p for m, p, _, _ in fake_server.requests if m == "PUT" and "/pods/" in p]
    assert puts and all(p.endswith("/sub/status") for p in puts)


async def test_readiness_gates_hold_ready(agent: SimulatedAgent, client: Client,
                                          fake_server: FakeApiServer) -> None:
    await client.create(PODS, pod("gated", gates=["example.com/lb"]))
    await eventually(lambda: cond(fake_server, "gated", "ContainersReady").get("status") == "True")
    ready = cond(fake_server, "gated", "Ready")
    assert ready["status"] == "False" and ready["reason"] == "ReadinessGatesNotReady"
    assert '"example.com/lb" does not exist' in ready["message"]
    current = await client.get(PODS, "gated")
    current["status"]["conditions"].append({"type": "example.com/lb", "status": "True"})
    await client.update_status(PODS, current)
    await eventually(lambda: cond(fake_server, "gated", "Ready").get("status") == "True")
    assert cond(fake_server, "gated", "example.com/lb")["status"] == "True"  # the gate's condition is kept


async def test_ready_after_delay(agent: SimulatedAgent, client: Client, fake_server: FakeApiServer,
                                 clock: FakeClock) -> None:
    await client.create(PODS, pod("slow", annotations={"sim.pyk8s.io/ready-after-seconds": "5"}))
    await eventually(lambda: status(fake_server, "slow").get("phase") == "Running")
    assert cond(fake_server, "slow", "Ready")["status"] == "False"
    assert cstate(fake_server, "slow")["ready"] is False and cstate(fake_server, "slow")["started"] is True
    await clock.advance(4)
    assert cond(fake_server, "slow", "Ready")["status"] == "False"
    await clock.advance(1)
    await eventually(lambda: cond(fake_server, "slow", "Ready").get("status") == "True")


async def test_never_exit_zero_succeeds(agent: SimulatedAgent, client: Client, fake_server: FakeApiServer,
                                        clock: FakeClock) -> None:
    await client.create(PODS, pod("job", policy="Never", annotations={"sim.pyk8s.io/run-seconds": "30"}))
    await eventually(lambda: status(fake_server, "job").get("phase") == "Running")
    await clock.advance(29)
    assert status(fake_server, "job")["phase"] == "Running"
    await clock.advance(1)
    await eventually(lambda: status(fake_server, "job").get("phase") == "Succeeded")
    term = cstate(fake_server, "job")["state"]["terminated"]
    assert term["reason"] == "Completed" and term["exitCode"] == 0 and term["startedAt"] and term["finishedAt"]
    assert cond(fake_server, "job", "Ready")["reason"] == "PodCompleted"


async def test_never_nonzero_fails(agent: SimulatedAgent, client: Client, fake_server: FakeApiServer,
                                   clock: FakeClock) -> None:
    await client.create(PODS, pod("bad", policy="Never",
                                  annotations={"sim.pyk8s.io/run-seconds": "2", "sim.pyk8s.io/exit-code": "3"}))
    await eventually(lambda: status(fake_server, "bad").get("phase") == "Running")
    await clock.advance(2)
    await eventually(lambda: status(fake_server, "bad").get("phase") == "Failed")
    term = cstate(fake_server, "bad")["state"]["terminated"]
    assert term["reason"] == "Error" and term["exitCode"] == 3 and cstate(fake_server, "bad")["restartCount"] == 0
    # As the kubelet's generate.go: a Failed pod's readiness says PodFailed, not PodCompleted.
    assert cond(fake_server, "bad", "Ready")["reason"] == "PodFailed"
    assert cond(fake_server, "bad", "ContainersReady")["reason"] == "PodFailed"


async def test_onfailure_nonzero_crashloops_with_doubling_backoff(
        agent: SimulatedAgent, client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    # As the kubelet's doBackOff: the first exit restarts at once, the second waits 10 s, the third 20 s.
    await client.create(PODS, pod("crash", policy="OnFailure",
                                  annotations={"sim.pyk8s.io/run-seconds": "5", "sim.pyk8s.io/exit-code": "1"}))
    await eventually(lambda: status(fake_server, "crash").get("phase") == "Running")
    await clock.advance(5)
    await eventually(lambda: cstate(fake_server, "crash").get("restartCount") == 1)
    cs = cstate(fake_server, "crash")
    assert "running" in cs["state"] and cs["lastState"]["terminated"]["exitCode"] == 1
    await clock.advance(5)  # second exit: CrashLoopBackOff
    await eventually(lambda: "waiting" in cstate(fake_server, "crash").get("state", {}))
    cs = cstate(fake_server, "crash")
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff" and "back-off 10s" in cs["state"]["waiting"]["message"]
    assert cs["restartCount"] == 1 and cs["lastState"]["terminated"]["exitCode"] == 1 and not cs["ready"]
    assert status(fake_server, "crash")["phase"] == "Running"
    assert cond(fake_server, "crash", "Ready")["status"] == "False"
    await clock.advance(9)
    assert "waiting" in cstate(fake_server, "crash")["state"]
    await clock.advance(1)  # 10 s back-off over: running again
    await eventually(lambda: "running" in cstate(fake_server, "crash").get("state", {}))
    assert cond(fake_server, "crash", "Ready")["status"] == "True" and cstate(fake_server, "crash")["restartCount"] == 2
    await clock.advance(5)  # third exit: 20 s back-off
    await eventually(lambda: "waiting" in cstate(fake_server, "crash").get("state", {}))
    assert "back-off 20s" in cstate(fake_server, "crash")["state"]["waiting"]["message"]
    await clock.advance(19)
    assert "waiting" in cstate(fake_server, "crash")["state"]
    await clock.advance(1)
    await eventually(lambda: cstate(fake_server, "crash").get("restartCount") == 3)


async def test_crashloop_is_forgiven_after_ten_minutes_running(
        agent: SimulatedAgent, client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    await client.create(PODS, pod("steady", annotations={"sim.pyk8s.io/run-seconds": "601",
                                                         "sim.pyk8s.io/exit-code": "1"}))
    await eventually(lambda: status(fake_server, "steady").get("phase") == "Running")
    await clock.advance(601)  # first exit: restarted at once
    await eventually(lambda: cstate(fake_server, "steady").get("restartCount") == 1)
    await clock.advance(601)  # ran 601 s since the restart: no back-off either
    await eventually(lambda: cstate(fake_server, "steady").get("restartCount") == 2)
    assert "running" in cstate(fake_server, "steady")["state"]


async def test_onfailure_zero_succeeds_and_always_restarts(
        agent: SimulatedAgent, client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    await client.create(PODS, pod("ok", policy="OnFailure", annotations={"sim.pyk8s.io/run-seconds": "3"}))
    await client.create(PODS, pod("svc", policy="Always", annotations={"sim.pyk8s.io/run-seconds": "3"}))
    await client.create(PODS, pod("forever", policy="Always"))
    await eventually(lambda: all(status(fake_server, n).get("phase") == "Running" for n in ("ok", "svc", "forever")))
    await clock.advance(3)
    await eventually(lambda: status(fake_server, "ok").get("phase") == "Succeeded")
    await eventually(lambda: cstate(fake_server, "svc").get("restartCount") == 1)  # the first restart is at once
    assert cstate(fake_server, "svc")["lastState"]["terminated"]["reason"] == "Completed"
    assert status(fake_server, "svc")["phase"] == "Running"
    await clock.advance(600)
    forever = cstate(fake_server, "forever")
    assert forever["restartCount"] == 0 and "running" in forever["state"]


async def test_deletion_is_confirmed_after_cap(agent: SimulatedAgent, client: Client, fake_server: FakeApiServer,
                                               clock: FakeClock) -> None:
    await client.create(PODS, pod("gone"))
    await eventually(lambda: status(fake_server, "gone").get("phase") == "Running")
    obj = stored(fake_server, "gone")
    assert obj is not None
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:30Z"
    obj["metadata"]["deletionGracePeriodSeconds"] = 30
    await fake_server.put("v1/pods", obj, "MODIFIED")  # what a graceful DELETE does on a real server
    await clock.advance(0.5)
    assert stored(fake_server, "gone") is not None
    await clock.advance(0.5)
    await eventually(lambda: stored(fake_server, "gone") is None)
    deletes = [p for m, p, _, _ in fake_server.requests if m == "DELETE"]
    assert deletes == ["/api/v1/namespaces/default/pods/gone"]


async def test_stopped_node_serves_no_pods(agent: SimulatedAgent, client: Client, fake_server: FakeApiServer,
                                           clock: FakeClock) -> None:
    agent.stop_node("sim-2")
    await client.create(PODS, pod("orphan", node="sim-2"))
    await clock.advance(5)
    assert status(fake_server, "orphan") == {}
    agent.start_node("sim-2")
    await eventually(lambda: status(fake_server, "orphan").get("phase") == "Running")


async def test_host_network_pod_uses_node_ip(agent: SimulatedAgent, client: Client,
                                             fake_server: FakeApiServer) -> None:
    spec = pod("hostnet")
    spec["spec"]["hostNetwork"] = True
    await client.create(PODS, spec)
    await eventually(lambda: status(fake_server, "hostnet").get("phase") == "Running")
    assert status(fake_server, "hostnet")["podIP"] == node_ip(1)


async def test_agent_restart_keeps_pod_status(client: Client, fake_server: FakeApiServer, clock: FakeClock) -> None:
    first = SimulatedAgent(client, count=2, clock=clock)
    async with running(first):
        await client.create(PODS, pod("keep"))
        await eventually(lambda: status(fake_server, "keep").get("phase") == "Running")
    before = status(fake_server, "keep")
    await clock.advance(120)
    second = SimulatedAgent(client, count=2, clock=clock)
    async with running(second):
        await eventually(lambda: "default/keep" in second.pods.runs)
        await clock.advance(1)
        after = status(fake_server, "keep")
        assert after["podIP"] == before["podIP"] and after["startTime"] == before["startTime"]
        assert cstate(fake_server, "keep")["state"] == before["containerStatuses"][0]["state"]
        await client.create(PODS, pod("fresh"))
        await eventually(lambda: status(fake_server, "fresh").get("phase") == "Running")
        assert status(fake_server, "fresh")["podIP"] != before["podIP"]  # the pool knows the kept address


async def test_pod_ips_come_from_a_podcidr_assigned_after_registration(agent: SimulatedAgent, client: Client,
                                                                       fake_server: FakeApiServer) -> None:
    """Node IPAM sets podCIDR after the node registered; the first pod must already use it (two agents in
    separate processes both have a node of index 0, so the index-based fallback would hand out the same IPs)."""
    assigned = "10.244.77.0/24"
    node = fake_server.objects[("v1/nodes", "", "sim-0")]
    node.setdefault("spec", {})["podCIDR"] = assigned
    assert agent.nodes["sim-0"].pod_cidr == ""  # the agent has not seen it yet
    await client.create(PODS, pod("late-cidr", node="sim-0"))
    await eventually(lambda: status(fake_server, "late-cidr").get("phase") == "Running")
    assert ipaddress.ip_address(status(fake_server, "late-cidr")["podIP"]) in ipaddress.ip_network(assigned)


async def test_sidecar_runs_with_the_app_containers(agent: SimulatedAgent, client: Client,
                                                   fake_server: FakeApiServer) -> None:
    spec = pod("with-sidecar")
    spec["spec"]["initContainers"].append({"name": "proxy", "image": "envoy:1", "restartPolicy": "Always"})
    await client.create(PODS, spec)
    await eventually(lambda: cond(fake_server, "with-sidecar", "Ready").get("status") == "True")
    inits = {s["name"]: s for s in status(fake_server, "with-sidecar")["initContainerStatuses"]}
    assert "terminated" in inits["init"]["state"] and inits["init"]["ready"]
    assert "running" in inits["proxy"]["state"] and inits["proxy"]["started"] and inits["proxy"]["ready"]


async def test_unready_message_names_containers_as_the_kubelet(agent: SimulatedAgent, client: Client,
                                                               fake_server: FakeApiServer) -> None:
    await client.create(PODS, pod("slow2", annotations={"sim.pyk8s.io/ready-after-seconds": "50"}))
    await eventually(lambda: status(fake_server, "slow2").get("phase") == "Running")
    assert cond(fake_server, "slow2", "Ready")["message"] == "containers with unready status: [app side]"
