"""CPU per CNI plugin call in the kubelet's chain (loopback, bridge + host-local, portmap), ADD and DEL.

Run as root: ``.venv/bin/python benchmarks/cni_bench.py [--pods 20]``.

Each plugin is the Debian binary from /usr/lib/cni, called the way containerd's CRI plugin calls it: the
conflist's plugin config with ``cniVersion``/``name``, ``prevResult`` from the plugin before it and the
``portMappings`` runtime config, on stdin.  Everything happens inside a network namespace the benchmark
creates (the "node", holding ``cni0``) and one fresh namespace per pod; all are deleted at the end, with
the host-local IPAM state.  Figures are CPU-seconds of the plugin processes (``RUSAGE_CHILDREN``), which
do not depend on the machine's load; the cost of ``nsenter`` into the node namespace is measured alone
and subtracted.  ``portmap`` is run with no mapping (what every pod without a hostPort pays) and with one
hostPort (iptables rules, the only case it is there for).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pyk8s.kubelet.network import cni  # noqa: E402
from pyk8s.kubelet.runtime.containerd import CNI_BIN_DIR  # noqa: E402

Obj = dict[str, object]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Chain:
    def __init__(self, node_ns: str, conflist: Obj) -> None:
        self.node_ns, self.conflist = node_ns, conflist

    def call(self, plugin: Obj, command: str, netns: str, container_id: str, *, prev: object = None,
             ports: list[Obj] | None = None) -> tuple[object, float]:
        """One plugin call; returns its result and the CPU it cost (nsenter included)."""
        conf: Obj = {**plugin, "cniVersion": self.conflist["cniVersion"], "name": self.conflist["name"]}
        if prev is not None:
            conf["prevResult"] = prev
        if ports is not None:
            conf["runtimeConfig"] = {"portMappings": ports}
        env = {"CNI_COMMAND": command, "CNI_CONTAINERID": container_id, "CNI_NETNS": netns, "CNI_IFNAME": "eth0",
               "CNI_PATH": CNI_BIN_DIR, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        before = children_cpu()
        out = subprocess.run(["nsenter", f"--net=/var/run/netns/{self.node_ns}", f"{CNI_BIN_DIR}/{plugin['type']}"],
                             input=json.dumps(conf).encode(), env=env, capture_output=True, check=False)
        spent = children_cpu() - before
        if out.returncode != 0:
            raise RuntimeError(f"{plugin['type']} {command}: {out.stdout.decode()} {out.stderr.decode()}")
        return (json.loads(out.stdout) if out.stdout.strip() else None), spent


def measure(pods: int, work: pathlib.Path, node_ns: str) -> dict[str, list[float]]:
    conflist = cni.bridge_conflist("10.244.0.0/24", ipam_dir=str(work / "ipam"))
    plugins: list[Obj] = conflist["plugins"]  # type: ignore[assignment]
    bridge, portmap = plugins
    loopback: Obj = {"type": "loopback"}
    chain = Chain(node_ns, conflist)
    out: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        out.setdefault(key, []).append(value * 1000)

    for i in range(pods):
        pod_ns = f"pyk8s-cnib-{uuid.uuid4().hex[:8]}"
        subprocess.run(["ip", "netns", "add", pod_ns], check=True)
        try:
            path, cid = f"/var/run/netns/{pod_ns}", uuid.uuid4().hex
            add("ADD loopback", chain.call(loopback, "ADD", path, cid)[1])
            result, spent = chain.call(bridge, "ADD", path, cid)
            add("ADD bridge (+ host-local)", spent)
            mapped, spent = chain.call(portmap, "ADD", path, cid, prev=result, ports=[])
            add("ADD portmap, no hostPort", spent)
            add("DEL portmap, no hostPort", chain.call(portmap, "DEL", path, cid, prev=mapped, ports=[])[1])
            one = [{"hostPort": 18000 + i, "containerPort": 80, "protocol": "tcp"}]
            add("ADD portmap, one hostPort", chain.call(portmap, "ADD", path, cid, prev=result, ports=one)[1])
            add("DEL portmap, one hostPort", chain.call(portmap, "DEL", path, cid, prev=result, ports=one)[1])
            add("DEL bridge (+ host-local)", chain.call(bridge, "DEL", path, cid)[1])
            add("DEL loopback", chain.call(loopback, "DEL", path, cid)[1])
        finally:
            subprocess.run(["ip", "netns", "delete", pod_ns], check=False)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=20)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("cni_bench needs root")
        return 2
    print("load average at start: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    node_ns = f"pyk8s-cnib-node-{uuid.uuid4().hex[:6]}"
    work = pathlib.Path(tempfile.mkdtemp(prefix="pyk8s-cnib-"))
    subprocess.run(["ip", "netns", "add", node_ns], check=True)
    try:
        before = children_cpu()
        for _ in range(args.pods):
            subprocess.run(["nsenter", f"--net=/var/run/netns/{node_ns}", "true"], check=True)
        nsenter_ms = (children_cpu() - before) / args.pods * 1000
        results = measure(args.pods, work, node_ns)
    finally:
        subprocess.run(["ip", "netns", "delete", node_ns], check=False)
        shutil.rmtree(work, ignore_errors=True)
    print(f"CPU per plugin call, ms (median over {args.pods} pods; nsenter's {nsenter_ms:.1f} ms subtracted):")
    for key, values in results.items():
        print(f"  {key:28s} {statistics.median(values) - nsenter_ms:6.1f}")
    start = ("ADD loopback", "ADD bridge (+ host-local)", "ADD portmap, no hostPort")
    total = sum(statistics.median(results[k]) - nsenter_ms for k in start)
    share = (statistics.median(results["ADD portmap, no hostPort"]) - nsenter_ms) / total
    print(f"a pod start without hostPort: {total:.1f} ms of CNI CPU, portmap {share * 100:.0f} % of it")
    print("load average at the end: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
