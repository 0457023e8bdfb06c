"""Pod start latency through pyk8s's CRI client and managed containerd, against raw runc as the floor.

Run as root: ``.venv/bin/python benchmarks/runtime_bench.py [--pods 50]``.

* Our path: RunPodSandbox (pause container + CNI ADD in a private netns) ->
  CreateContainer -> StartContainer -> ContainerStatus says RUNNING, per pod,
  sequentially, with the images already present.  Then StopPodSandbox and
  RemovePodSandbox latencies.
* The floor, in the same run: ``runc run -d`` of the same busybox rootfs
  (one container, no CNI, no pause) until it is running, then ``runc delete -f``.
* The CRI round trip itself: median Version call.
* RSS of the containerd instance and of this (client) process.

Everything runs inside a network namespace the benchmark creates and deletes;
containerd is stopped by PID at the end and all sandboxes are removed first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid

from pyk8s.kubelet.images import build
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.containerd import ManagedContainerd
from pyk8s.kubelet.runtime.cri.client import CRIClient


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _summary(name: str, samples: list[float]) -> dict[str, float | str]:
    return {"what": name, "n": len(samples), "median_ms": statistics.median(samples) * 1000, "p99_ms": _pct(samples, 0.99) * 1000}


def _rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _start_pod(cri: CRIClient, i: int, log_dir: pathlib.Path) -> tuple[str, float]:
    started = time.perf_counter()
    sc = ri.PodSandboxConfig(metadata=ri.PodSandboxMetadata(name=f"bench-{i}", namespace="bench", uid=uuid.uuid4().hex),
                             hostname=f"bench-{i}", log_directory=str(log_dir / str(i)))
    sid = await cri.run_pod_sandbox(sc)
    cc = ri.ContainerConfig(metadata=ri.ContainerMetadata(name="main"), image=build.BUSYBOX_REF,
                            command=["sleep", "1000"], log_path="main.log")
    cid = await cri.create_container(sid, cc, sc)
    await cri.start_container(cid)
    for _ in range(10_000):
        if (await cri.container_status(cid)).state == ri.ContainerState.RUNNING:
            break
        await asyncio.sleep(0.001)
    return sid, time.perf_counter() - started


async def bench_cri(work: pathlib.Path, netns: str, pods: int) -> dict[str, object]:
    manager = ManagedContainerd(work / "containerd", pod_cidr="10.244.0.0/24", netns=netns)
    manager.paths.auto_import_dir.mkdir(parents=True, exist_ok=True)
    for name, archive in build.build_images(work / "images", ["busybox", "pause"]).items():
        shutil.copy(archive, manager.paths.auto_import_dir / f"{name}.tar")
    await manager.start()
    cri = CRIClient(manager.endpoint)
    sandboxes: list[str] = []
    try:
        version = []
        for _ in range(200):
            t = time.perf_counter()
            await cri.version()
            version.append(time.perf_counter() - t)
        start: list[float] = []
        for i in range(pods):
            sid, elapsed = await _start_pod(cri, i, work / "logs")
            sandboxes.append(sid)
            start.append(elapsed)
        rss = {"containerd_rss_mib": _rss_kib(manager.pid or 0) / 1024, "client_rss_mib": _rss_kib(os.getpid()) / 1024}
        stop, remove = [], []
        for sid in list(sandboxes):
            t = time.perf_counter()
            await cri.stop_pod_sandbox(sid)
            stop.append(time.perf_counter() - t)
            t = time.perf_counter()
            await cri.remove_pod_sandbox(sid)
            remove.append(time.perf_counter() - t)
            sandboxes.remove(sid)
        return {"version": _summary("CRI Version round trip", version), "start": _summary("pod start to running", start),
                "stop": _summary("StopPodSandbox", stop), "remove": _summary("RemovePodSandbox", remove), **rss}
    finally:
        for sid in sandboxes:
            await cri.stop_pod_sandbox(sid)
            await cri.remove_pod_sandbox(sid)
        await cri.close()
        await manager.stop()
        _remove_empty_cgroups("k8s.io")


def _remove_empty_cgroups(name: str) -> None:
    # rmdir only succeeds on an empty cgroup, so another containerd's live ones stay.
    for hierarchy in pathlib.Path("/sys/fs/cgroup").iterdir():
        try:
            (hierarchy / name).rmdir()
        except OSError:
            pass


def bench_runc(work: pathlib.Path, runs: int) -> dict[str, float | str]:
    bundle = work / "bundle"
    build.unpack_busybox_rootfs(bundle / "rootfs")
    subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["sleep", "1000"]
    root = work / "runc-root"
    samples = []
    for i in range(runs):
        cid = f"pyk8s-bench-{os.getpid()}-{i}"
        spec["linux"]["cgroupsPath"] = f"/pyk8s-bench/{cid}"
        (bundle / "config.json").write_text(json.dumps(spec))
        t = time.perf_counter()
        subprocess.run(["runc", "--root", str(root), "run", "-d", "--bundle", str(bundle), cid],
                       check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - t)
        subprocess.run(["runc", "--root", str(root), "delete", "-f", cid], check=True)
    _remove_empty_cgroups("pyk8s-bench")
    return _summary("raw runc run -d (floor)", samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=50)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("runtime_bench needs root")
        return 2
    netns_name = f"pyk8s-bench-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", netns_name], check=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="pyk8s-bench-"))
    try:
        subprocess.run(["ip", "netns", "exec", netns_name, "ip", "link", "set", "lo", "up"], check=True)
        results = asyncio.run(bench_cri(work, f"/var/run/netns/{netns_name}", args.pods))
        floor = bench_runc(work, args.pods)
    finally:
        subprocess.run(["ip", "netns", "delete", netns_name], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    for key in ("version", "start", "stop", "remove"):
        r = results[key]
        print(f"{r['what']:<28} n={r['n']:<4} median {r['median_ms']:8.2f} ms   p99 {r['p99_ms']:8.2f} ms")  # type: ignore[index]
    print(f"{floor['what']:<28} n={floor['n']:<4} median {floor['median_ms']:8.2f} ms   p99 {floor['p99_ms']:8.2f} ms")
    ratio = results["start"]["median_ms"] / floor["median_ms"]  # type: ignore[index]
    print(f"pod start / runc floor (median): {ratio:.2f}x")
    print(f"containerd RSS {results['containerd_rss_mib']:.1f} MiB, client (python) RSS {results['client_rss_mib']:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
