"""Acceptance tests of the containerd runtime over real CRI v1 gRPC (root only; see conftest)."""

from __future__ import annotations

import asyncio
import pathlib
import time
from collections.abc import AsyncIterator

import pytest

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.containerd import ManagedContainerd, import_archive
from pyk8s.kubelet.runtime.cri import streaming
from pyk8s.kubelet.runtime.cri.client import CRIClient

from .conftest import Node
from .pods import Pods

pytestmark = pytest.mark.containerd

HTTPD = ["sh", "-c", "mkdir -p /www && echo hello-from-$HOSTNAME > /www/index.html && echo serving && exec httpd -f -p 80 -h /www"]
SLEEPER = ["sh", "-c", "echo client-up; echo to-stderr >&2; exec sleep 1000"]


@pytest.fixture
async def pods(cri: CRIClient, node: Node) -> AsyncIterator[Pods]:
    p = Pods(cri, node.data_dir / "logs")
    try:
        yield p
    finally:
        await p.cleanup()


def _log_lines(path: str) -> list[list[str]]:
    return [line.split(" ", 3) for line in pathlib.Path(path).read_text().splitlines()]


async def test_status_reports_runtime_and_network_ready(cri: CRIClient) -> None:
    version = await cri.version()
    assert version.runtime_name == "containerd" and version.runtime_api_version == "v1"
    status = await cri.status()
    assert status.runtime_ready and status.network_ready


async def test_pod_networking_logs_and_exec(cri: CRIClient, pods: Pods, node: Node) -> None:
    a = await pods.sandbox("pod-a")
    web = await pods.container(a, "web", HTTPD)
    client = await pods.container(a, "client", SLEEPER)
    # Containers of one pod share the sandbox netns: 127.0.0.1 reaches the sibling.
    local = await pods.exec_until(client, ["timeout", "5", "wget", "-qO-", "http://127.0.0.1/"])
    assert local.exit_code == 0 and local.stdout == b"hello-from-pod-a\n"

    ip_a = (await cri.pod_sandbox_status(a[0])).ip
    assert ip_a.startswith("10.244.0.")
    b = await pods.sandbox("pod-b")
    other = await pods.container(b, "client", SLEEPER)
    ip_b = (await cri.pod_sandbox_status(b[0])).ip
    assert ip_b.startswith("10.244.0.") and ip_b != ip_a
    remote = await pods.exec_until(other, ["timeout", "5", "wget", "-qO-", f"http://{ip_a}/"])
    assert remote.exit_code == 0 and remote.stdout == b"hello-from-pod-a\n"

    # Logs of both containers, in the CRI format.
    web_status = await cri.container_status(web)
    assert ["stdout", "F", "serving"] == _log_lines(web_status.log_path)[0][1:]
    client_lines = _log_lines((await cri.container_status(client)).log_path)
    assert {(stream, msg) for _, stream, _, msg in client_lines} == {("stdout", "client-up"), ("stderr", "to-stderr")}

    # ExecSync: output and exit code.
    result = await cri.exec_sync(client, ["sh", "-c", "echo out; echo err >&2; exit 7"], 5)
    assert (result.exit_code, result.stdout) == (7, b"out\n")
    # Exec with a tty through the streaming server.
    url = await cri.exec(ri.ExecRequest(client, ["sh"], tty=True, stdin=True, stderr=False))
    session = await streaming.run_stream(url, stdin=b"echo $((6*7)); tty; exit 3\n", netns=node.netns)
    assert session.exit_code == 3
    assert b"42\r\n" in session.stdout and b"/dev/pts/" in session.stdout


async def test_stop_escalates_to_sigkill_at_timeout(cri: CRIClient, pods: Pods) -> None:
    sandbox = await pods.sandbox("stopper")
    # PID 1 without a handler ignores SIGTERM: only the SIGKILL after the timeout ends it.
    cid = await pods.container(sandbox, "stubborn", ["sleep", "1000"])
    await pods.wait_state(cid, ri.ContainerState.RUNNING)
    started = time.monotonic()
    await cri.stop_container(cid, 2)
    elapsed = time.monotonic() - started
    status = await cri.container_status(cid)
    assert status.state == ri.ContainerState.EXITED and status.exit_code == 137
    assert 1.8 <= elapsed <= 4.0, elapsed


async def test_exit_codes_and_reasons(cri: CRIClient, pods: Pods) -> None:
    sandbox = await pods.sandbox("exits")
    failing = await pods.container(sandbox, "fail", ["sh", "-c", "exit 3"])
    ok = await pods.container(sandbox, "ok", ["true"])
    hog = await pods.container(
        sandbox, "hog", ["sh", "-c", "x=$(yes aaaaaaaaaaaaaaaaaaaaaaaa | head -c 400000000); echo survived"],
        resources=ri.LinuxResources(memory_limit_in_bytes=24 * 1024 * 1024),
    )
    st = await pods.wait_state(failing, ri.ContainerState.EXITED)
    # containerd stamps started_at after the start call returns, so a container that exits at once
    # can show finished_at a few microseconds *before* started_at: only require both to be set.
    assert (st.exit_code, st.reason) == (3, "Error") and st.finished_at > 0 and st.started_at > 0
    st = await pods.wait_state(ok, ri.ContainerState.EXITED)
    assert (st.exit_code, st.reason) == (0, "Completed")
    st = await pods.wait_state(hog, ri.ContainerState.EXITED, wait_s=30)
    assert (st.exit_code, st.reason) == (137, "OOMKilled")


def _cgroup_file(pid: int, controller: str, name: str) -> str:
    for line in pathlib.Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            mount = "cpu,cpuacct" if controller in ("cpu", "cpuacct") else controller
            base = pathlib.Path("/sys/fs/cgroup") / mount
            if not base.exists():
                base = pathlib.Path("/sys/fs/cgroup") / controller
            return (base / path.lstrip("/") / name).read_text().strip()
    raise AssertionError(f"no {controller} cgroup for {pid}")


async def test_limits_applied_and_stats(cri: CRIClient, pods: Pods) -> None:
    sandbox = await pods.sandbox("busy")
    limits = ri.LinuxResources(cpu_period=100000, cpu_quota=50000, cpu_shares=512, memory_limit_in_bytes=64 * 1024 * 1024)
    cid = await pods.container(sandbox, "spin", ["sh", "-c", "while :; do :; done"], resources=limits)
    await pods.wait_state(cid, ri.ContainerState.RUNNING)
    pid = (await cri.container_status(cid, verbose=True)).pid
    assert pid > 0
    assert _cgroup_file(pid, "memory", "memory.limit_in_bytes") == str(64 * 1024 * 1024)
    assert _cgroup_file(pid, "cpu", "cpu.cfs_quota_us") == "50000"
    assert _cgroup_file(pid, "cpu", "cpu.cfs_period_us") == "100000"
    assert _cgroup_file(pid, "cpu", "cpu.shares") == "512"
    await asyncio.sleep(1.0)
    first = await cri.container_stats(cid)
    await asyncio.sleep(1.0)
    second = await cri.container_stats(cid)
    assert second.cpu_usage_core_nanoseconds > first.cpu_usage_core_nanoseconds > 0
    assert second.memory_working_set_bytes > 0
    # Throttled to half a core: cumulative usage over ~1 s stays near 0.5 s.
    per_sec = (second.cpu_usage_core_nanoseconds - first.cpu_usage_core_nanoseconds) / ((second.timestamp - first.timestamp) or 1)
    assert 0.2 < per_sec < 0.8, per_sec
    listed = {s.id for s in await cri.list_container_stats(ri.ContainerStatsFilter(pod_sandbox_id=sandbox[0]))}
    assert cid in listed


async def test_import_tarball_without_registry(cri: CRIClient, node: Node, pods: Pods) -> None:
    assert await cri.image_status("docker.io/library/nginx:1.24") is None
    await import_archive(node.manager.paths.socket, node.images["nginx"])
    image = await cri.image_status("docker.io/library/nginx:1.24")
    assert image is not None and "docker.io/library/nginx:latest" in image.repo_tags
    sandbox = await pods.sandbox("nginx")
    await pods.container(sandbox, "nginx", [], image="docker.io/library/nginx:1.24")
    probe = await pods.container(sandbox, "probe", ["sleep", "1000"])
    page = await pods.exec_until(probe, ["timeout", "5", "wget", "-qO-", "http://127.0.0.1/"])
    assert b"Welcome to nginx!" in page.stdout
    await pods.cleanup()
    await cri.remove_image("docker.io/library/nginx:1.24")
    await cri.remove_image("docker.io/library/nginx:latest")
    assert await cri.image_status("docker.io/library/nginx:1.24") is None


async def test_restart_keeps_containers_running(node: Node) -> None:
    client = CRIClient(node.endpoint)
    pods = Pods(client, node.data_dir / "logs")
    try:
        sandbox = await pods.sandbox("survivor")
        cid = await pods.container(sandbox, "sleeper", ["sleep", "1000"])
        pid = (await client.container_status(cid, verbose=True)).pid
        await client.close()

        # Our side restarts: a new manager re-attaches to the same containerd.
        same = ManagedContainerd(node.data_dir, netns=node.netns)
        old_containerd = same.running_pid()
        await same.start()
        assert same.pid == old_containerd
        # containerd itself restarts: shims keep the containers alive and it finds them again.
        await same.stop()
        assert same.running_pid() is None
        await same.start()
        assert same.pid != old_containerd
        client = CRIClient(node.endpoint)
        pods.runtime = client
        listed = await client.list_containers(ri.ContainerFilter(state=ri.ContainerState.RUNNING))
        assert cid in {c.id for c in listed}
        status = await client.container_status(cid, verbose=True)
        assert status.state == ri.ContainerState.RUNNING and status.pid == pid
    finally:
        await pods.cleanup()
        await client.close()


async def test_network_ready_follows_cni_config(node: Node, tmp_path: pathlib.Path) -> None:
    # A second instance without a pod CIDR: NetworkReady=false until the kubelet writes the config.
    from pyk8s.kubelet.network import cni

    manager = ManagedContainerd(tmp_path / "ctrd", netns=node.netns)
    manager.paths.auto_import_dir.mkdir(parents=True)
    await manager.start()
    client = CRIClient(manager.endpoint)
    try:
        status = await client.status()
        assert status.runtime_ready and not status.network_ready
        cni.write_cni_config(manager.paths.cni_conf_dir, "10.244.9.0/24", ipam_dir=str(manager.paths.cni_ipam_dir))
        for _ in range(100):
            if (await client.status()).network_ready:
                break
            await asyncio.sleep(0.05)
        assert (await client.status()).network_ready
    finally:
        await client.close()
        await manager.stop()


async def test_port_forward(cri: CRIClient, pods: Pods, node: Node) -> None:
    sandbox = await pods.sandbox("pf")
    await pods.container(sandbox, "web", HTTPD)
    probe = await pods.container(sandbox, "probe", ["sleep", "1000"])
    await pods.exec_until(probe, ["timeout", "5", "wget", "-qO-", "http://127.0.0.1/"])
    url = await cri.port_forward(sandbox[0], [80])
    reply = await streaming.port_forward_once(url, 80, b"GET / HTTP/1.0\r\n\r\n", netns=node.netns)
    assert reply.startswith(b"HTTP/1.") and reply.endswith(b"hello-from-pf\n")


async def test_host_port_mapping(cri: CRIClient, pods: Pods, node: Node) -> None:
    # portmap DNATs <node>:8080 to the pod's :80; the "node" here is the test's network namespace.
    sandbox = await pods.sandbox("hostport", port_mappings=[ri.PortMapping(container_port=80, host_port=8080)])
    await pods.container(sandbox, "web", HTTPD)
    probe = await pods.container(sandbox, "probe", ["sleep", "1000"])
    await pods.exec_until(probe, ["timeout", "5", "wget", "-qO-", "http://127.0.0.1/"])
    cmd = ["nsenter", f"--net={node.netns}", "--", "busybox", "timeout", "5", "busybox", "wget", "-qO-", "http://10.244.0.1:8080/"]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert (proc.returncode, out) == (0, b"hello-from-hostport\n"), err
