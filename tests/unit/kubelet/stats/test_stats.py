"""The kubelet's stats: /proc parsing, CPU rates, the Summary from runtime stats, and /metrics/resource."""

from __future__ import annotations

import pathlib

from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.stats import host, metrics
from pyk8s.kubelet.stats.summary import CPUSample, RateTracker, StatsProvider

NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0
  eth0:  123456     100    2    0    0     0          0         0    65432      50    1    0    0     0       0          0
"""


def test_net_dev_skips_loopback(tmp_path: pathlib.Path) -> None:
    (tmp_path / "dev").write_text(NET_DEV)
    assert host.net_dev(tmp_path / "dev") == [
        {"name": "eth0", "rxBytes": 123456, "rxErrors": 2, "txBytes": 65432, "txErrors": 1}]


def test_node_memory_working_set_leaves_out_inactive_file_pages(tmp_path: pathlib.Path) -> None:
    (tmp_path / "meminfo").write_text("MemTotal: 1000 kB\nMemFree: 200 kB\nInactive(file): 300 kB\nAnonPages: 100 kB\n")
    (tmp_path / "vmstat").write_text("pgfault 7\npgmajfault 2\n")
    assert host.memory_stats(tmp_path) == {
        "availableBytes": 500 * 1024, "usageBytes": 800 * 1024, "workingSetBytes": 500 * 1024,
        "rssBytes": 100 * 1024, "pageFaults": 7, "majorPageFaults": 2}


def test_cpu_counts_every_state_but_idle_and_iowait(tmp_path: pathlib.Path) -> None:
    (tmp_path / "stat").write_text("cpu  100 10 50 1000 40 5 5 0 0 0\ncpu0 1 2 3 4\n")
    assert host.cpu_usage_core_nanoseconds(tmp_path) == 170 * 1_000_000_000 // host.USER_HZ


def test_rates_need_two_samples_far_enough_apart() -> None:
    rates = RateTracker()
    assert rates.rate("c", CPUSample(10.0, 1_000_000_000)) is None
    assert rates.rate("c", CPUSample(10.1, 1_100_000_000)) is None  # too close: the base stays
    assert rates.rate("c", CPUSample(12.0, 2_000_000_000)) == 500_000_000  # half a core
    assert rates.rate("c", CPUSample(13.0, 100)) is None  # a restarted counter gives no rate


class _Stats:
    """A runtime with two running containers of one pod and an exited one."""

    def __init__(self, tmp_path: pathlib.Path) -> None:
        self.tmp_path = tmp_path
        self.usage = 1_000_000_000
        pod = {labels.POD_UID: "u1", labels.POD_NAME: "web", labels.POD_NAMESPACE: "default"}
        self.containers = [
            ri.Container(id=cid, pod_sandbox_id="s", metadata=ri.ContainerMetadata(name, 0), image="i", image_ref="i",
                         state=state, created_at=1_700_000_000_000_000_000, labels=pod)
            for cid, name, state in (("a", "app", ri.ContainerState.RUNNING), ("b", "side", ri.ContainerState.RUNNING),
                                     ("c", "old", ri.ContainerState.EXITED))]

    async def list_containers(self, f: ri.ContainerFilter | None = None) -> list[ri.Container]:
        return [c for c in self.containers if f is None or f.state is None or c.state == f.state]

    async def list_container_stats(self, f: ri.ContainerStatsFilter | None = None) -> list[ri.ContainerStats]:
        self.usage += 250_000_000
        return [ri.ContainerStats(id=c.id, name=c.metadata.name, timestamp=0, cpu_usage_core_nanoseconds=self.usage,
                                  memory_working_set_bytes=1000, memory_usage_bytes=3000,
                                  writable_layer_bytes=8192 if c.id == "a" else None) for c in self.containers]

    async def container_status(self, cid: str, verbose: bool = False) -> ri.ContainerStatus:
        raise ri.RuntimeServiceError("no pid here")

    async def image_fs_info(self) -> list[ri.FilesystemUsage]:
        return [ri.FilesystemUsage(str(self.tmp_path), 4096, 2, 0)]


async def test_summary_and_resource_metrics(tmp_path: pathlib.Path) -> None:
    runtime = _Stats(tmp_path)
    pods = [{"metadata": {"name": "web", "namespace": "default", "uid": "u1"},
             "status": {"startTime": "2024-01-01T00:00:00Z"}},
            {"metadata": {"name": "idle", "namespace": "default", "uid": "u2"}}]
    provider = StatsProvider("n1", tmp_path, runtime, runtime, lambda: pods)  # type: ignore[arg-type]
    summary = await provider.summary()
    node = summary["node"]
    assert node["nodeName"] == "n1" and node["cpu"]["usageCoreNanoSeconds"] > 0
    assert node["fs"]["capacityBytes"] > 0 and node["runtime"]["imageFs"]["usedBytes"] == 4096
    (pod,) = summary["pods"]  # "idle" has no running container
    assert pod["podRef"] == {"name": "web", "namespace": "default", "uid": "u1"}
    assert [c["name"] for c in pod["containers"]] == ["app", "side"]  # the exited one is left out
    app = pod["containers"][0]
    assert app["cpu"]["usageNanoCores"] > 0  # two samples at least MIN_WINDOW apart
    assert app["memory"] == {"time": app["memory"]["time"], "usageBytes": 3000, "workingSetBytes": 1000}
    assert pod["memory"]["workingSetBytes"] == 2000
    assert app["rootfs"]["usedBytes"] == 8192 and app["rootfs"]["capacityBytes"] > 0
    assert "rootfs" not in pod["containers"][1]  # the runtime gave no figure for it
    assert pod["cpu"]["usageCoreNanoSeconds"] == 2 * app["cpu"]["usageCoreNanoSeconds"]

    text = metrics.render(summary)
    assert "# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in " \
           "core-seconds" in text
    assert "# TYPE pod_memory_working_set_bytes gauge" in text
    assert 'container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 1000 ' in text
    assert 'pod_memory_working_set_bytes{namespace="default",pod="web"} 2000 ' in text
    assert text.rstrip().endswith("resource_scrape_error 0")
    assert metrics.render(None).splitlines()[-1] == "resource_scrape_error 1"
