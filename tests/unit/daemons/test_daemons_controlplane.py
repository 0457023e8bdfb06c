"""ClientComponent (rebuild after a lost lease or a crash, ready mirroring, client lifetime) and the factories."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pyk8s.apiserver.config import ServerConfig
from pyk8s.client.rest import Client
from pyk8s.daemons import controlplane
from pyk8s.daemons.controlplane import ClientComponent, ControlPlaneOptions
from pyk8s.daemons.election import LeaseSettings
from pyk8s.daemons.server import ServerAssembly, ServerOptions

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "admin.kubeconfig"
    path.write_text(KUBECONFIG)
    return path


class Worker:
    """Becomes ready, then returns (a lost lease), raises, or runs until cancelled."""

    def __init__(self, client: Client, outcome: str) -> None:
        self.client = client
        self.outcome = outcome
        self.ready = asyncio.Event()
        self.cancelled = False

    async def run(self) -> None:
        try:
            self.ready.set()
            await asyncio.sleep(0.01)
            if self.outcome == "return":
                return
            if self.outcome == "raise":
                raise RuntimeError("boom")
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def component(kubeconfig: Path, outcomes: list[str], built: list[Worker], **kwargs: object) -> ClientComponent:
    def build(client: Client) -> Worker:
        built.append(Worker(client, outcomes.pop(0) if outcomes else "block"))
        return built[-1]

    return ClientComponent("probe", kubeconfig=kubeconfig, build=build, user_agent="probe-agent",
                           restart_delay=0.01, **kwargs)  # type: ignore[arg-type]


async def test_worker_is_rebuilt_after_a_lost_lease_and_after_a_crash(kubeconfig: Path) -> None:
    built: list[Worker] = []
    comp = component(kubeconfig, ["return", "raise"], built)
    task = asyncio.create_task(comp.run())
    try:
        for _ in range(200):
            if len(built) == 3 and comp.ready.is_set():
                break
            await asyncio.sleep(0.01)
        assert len(built) == 3 and comp.ready.is_set()
        assert built[0].client is built[2].client  # one client for the component's lifetime
        assert built[0].client.user_agent == "probe-agent"
        assert comp.worker is built[2]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert built[2].cancelled and not comp.ready.is_set()
    assert built[2].client._session is None  # closed


async def test_without_campaign_again_a_returning_worker_ends_the_component(kubeconfig: Path) -> None:
    built: list[Worker] = []
    comp = component(kubeconfig, ["return"], built, campaign_again=False)
    await asyncio.wait_for(comp.run(), 5)
    assert len(built) == 1 and not comp.ready.is_set()


def test_factories_read_the_assembly_kubeconfig_and_build_nothing_yet(tmp_path: Path) -> None:
    opts = ControlPlaneOptions(controllers=("replicaset-controller",), simulate_nodes=2,
                               election=LeaseSettings(lease_duration=4, renew_deadline=3, retry_period=1))
    assembly = ServerAssembly(ServerOptions(config=ServerConfig(data_dir=tmp_path), storage_url="memory://"))
    comps = {c.name: c for c in (make(assembly) for make in controlplane.components(opts))}
    names = ["controller-manager", "scheduler", "kubelet", "simulated-nodes"]
    assert list(comps)[:3] == names[:3] and "simulated-nodes" in comps
    # Each component runs under its own identity (authorization/identities.py); simulated nodes as nodes.
    own = {"controller-manager": "controller-manager.kubeconfig", "scheduler": "scheduler.kubeconfig",
           "kubelet": "kubelet.kubeconfig", "simulated-nodes": "simulated-nodes/sim-0.kubeconfig"}
    for name in names:
        c = comps[name]
        assert isinstance(c, ClientComponent)
        assert c.kubeconfig == tmp_path / own[name]
        assert c.worker is None and not c.ready.is_set()
    assert [comps[n].campaign_again for n in names] == [True, True, False, False]
    assert "simulated-nodes" not in {make(assembly).name for make in controlplane.components(ControlPlaneOptions())}


async def test_built_workers_carry_the_options(kubeconfig: Path, tmp_path: Path) -> None:
    from pyk8s.controllers.manager import ControllerManager
    from pyk8s.daemons.scheduler import SchedulerDaemon
    from pyk8s.kubelet.simulated.agent import SimulatedAgent

    settings = LeaseSettings(lease_duration=4, renew_deadline=3, retry_period=1)
    opts = ControlPlaneOptions(controllers=("replicaset-controller",), simulate_nodes=2, election=settings,
                               controller_options={"node_monitor_grace_period": 8})
    assembly = ServerAssembly(ServerOptions(config=ServerConfig(data_dir=tmp_path), storage_url="memory://"))
    comps = {c.name: c for c in (make(assembly) for make in controlplane.components(opts))}
    cm, sched, node, sim = (comps[n] for n in ("controller-manager", "scheduler", "kubelet", "simulated-nodes"))
    client = Client.from_kubeconfig(str(kubeconfig))
    try:
        manager = cm.build(client)  # type: ignore[attr-defined]
        assert isinstance(manager, ControllerManager)
        assert manager.names == ["replicaset-controller"] and manager.leader_elect
        assert manager.lease == (4, 3, 1) and manager.options["node_monitor_grace_period"] == 8
        assert manager.client_for is not None  # each controller gets a client of its own
        daemon = sched.build(client)  # type: ignore[attr-defined]
        assert isinstance(daemon, SchedulerDaemon) and daemon.election == settings
        kubelet = node.build(client)  # type: ignore[attr-defined]
        assert isinstance(kubelet, controlplane.EmbeddedKubelet)
        assert kubelet.config.root_dir == tmp_path / "kubelet"
        assert kubelet.config.labels == {"node-role.kubernetes.io/control-plane": ""}
        agent = sim.build(client)  # type: ignore[attr-defined]
        assert isinstance(agent, SimulatedAgent) and sorted(agent.nodes) == ["sim-0", "sim-1"]
    finally:
        await client.close()
