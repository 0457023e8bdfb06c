"""The pod's own cgroup: limits from the pod's requests and limits by QoS class, written to v1 or v2 files."""

from __future__ import annotations

import pathlib

from pyk8s.kubelet.kuberuntime import cgroups, resources
from pyk8s.kubelet.kuberuntime.resources import PodCgroupConfig

from .conftest import ctr, make_pod


def _res(requests: dict[str, str] | None = None, limits: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    return {"resources": {k: v for k, v in (("requests", requests), ("limits", limits)) if v}}


def _as_cgroupfs(*dirs: pathlib.Path) -> None:
    """A cgroup's interface files do not keep rmdir from removing it, unlike a plain directory's files."""
    for d in dirs:
        for f in d.iterdir():
            f.unlink()


def test_guaranteed_pod_sums_its_containers() -> None:
    both = {"cpu": "250m", "memory": "64Mi"}
    pod = make_pod(containers=[ctr("a", **_res(both, both)), ctr("b", **_res(both, both))])
    assert resources.pod_cgroup_config(pod) == PodCgroupConfig(512, 50000, 100000, 128 * 2**20)
    assert resources.pod_cgroup_config(pod, cfs_quota=False).cpu_quota == -1


def test_burstable_pod_limits_only_what_every_container_limits() -> None:
    partial = make_pod(containers=[ctr("a", **_res({"cpu": "100m"}, {"cpu": "200m", "memory": "32Mi"})),
                                   ctr("b", **_res({"cpu": "100m"}, {"cpu": "300m"}))])
    assert resources.pod_cgroup_config(partial) == PodCgroupConfig(204, 50000, 100000, None)
    init = make_pod(containers=[ctr("a", **_res({"cpu": "100m"}, {"cpu": "200m"}))],
                    init=[ctr("setup", **_res({"memory": "8Mi"}))])
    assert resources.pod_cgroup_config(init) == PodCgroupConfig(102, None, None, None)


def test_best_effort_pod_gets_minimum_shares() -> None:
    assert resources.pod_cgroup_config(make_pod()) == PodCgroupConfig(2)


def test_v1_files(tmp_path: pathlib.Path) -> None:
    for hierarchy in ("cpu", "memory", "pids"):
        (tmp_path / hierarchy).mkdir()
    cgroups.ensure_pod_cgroup("/kubepods/burstable/poduid-1", PodCgroupConfig(102, None, None, 2**20), tmp_path)
    cpu, memory = tmp_path / "cpu/kubepods/burstable/poduid-1", tmp_path / "memory/kubepods/burstable/poduid-1"
    assert (cpu / "cpu.shares").read_text() == "102" and (cpu / "cpu.cfs_quota_us").read_text() == "-1"
    assert (memory / "memory.limit_in_bytes").read_text() == str(2**20)
    cgroups.ensure_pod_cgroup("/kubepods/besteffort/poduid-3", PodCgroupConfig(2), tmp_path)
    assert (tmp_path / "cpu/kubepods/besteffort/cpu.shares").read_text() == "2"
    assert not (tmp_path / "cpu/kubepods/burstable/cpu.shares").exists()
    _as_cgroupfs(cpu, memory)
    cgroups.remove_pod_cgroups("/kubepods", "uid-1", tmp_path)
    assert not cpu.exists() and not memory.exists() and (tmp_path / "cpu/kubepods/burstable").is_dir()


def test_v2_files(tmp_path: pathlib.Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    cgroups.ensure_pod_cgroup("/kubepods/poduid-2", PodCgroupConfig(256, 25000, 100000, 64 * 2**20), tmp_path)
    pod = tmp_path / "kubepods/poduid-2"
    assert (pod / "cpu.max").read_text() == "25000 100000" and (pod / "memory.max").read_text() == str(64 * 2**20)
    assert (pod / "cpu.weight").read_text() == str(cgroups.shares_to_weight(256)) == "10"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu +memory"
    assert (tmp_path / "kubepods/cgroup.subtree_control").read_text() == "+cpu +memory"
    _as_cgroupfs(pod)
    cgroups.remove_pod_cgroups("/kubepods", "uid-2", tmp_path)
    assert not pod.exists() and (tmp_path / "kubepods").is_dir()


def test_nothing_written_when_the_runtime_owns_cgroups(tmp_path: pathlib.Path) -> None:
    from pyk8s.kubelet.kuberuntime.settings import RuntimeSettings

    cgroups.ensure_for_pod(make_pod(), RuntimeSettings(cgroup_root=""), "", tmp_path)
    assert list(tmp_path.iterdir()) == []
