"""Service proxy benchmark: rule sync time and data-path cost, nftables vs iptables, in a throwaway netns.

The script re-runs itself under ``unshare --net`` (a fresh network namespace
that disappears with the process), so no rule ever touches the machine's
own namespace.  For each mode, at each scale (1,000 / 5,000 / 10,000
Services with 2 endpoints each):

* ``full``: the first sync, every rule written (``nft -f`` / ``iptables-restore``);
* ``change``: one Service's endpoints change -> change tracker -> sync ->
  rules live (the backend returned), the in-process part of "endpoint change
  to rule live" (the running proxy adds at most ``--min-sync-period``, 1 s,
  of batching, plus the API watch);
* ``resync``: the periodic 30 s resync at that size (every Service re-read
  from the caches, nothing changed, the difference written: none in
  nftables mode, the top-level chains in iptables mode, as upstream);
* ``rewrite``: the hourly full rewrite (every chain and map written again).

Then the data path, at the largest scale: a TCP echo server on a "pod"
address (on lo) and a client doing connect/send/recv/close; connections per
second and latency percentiles through the ClusterIP of the *last* Service
(the worst case for iptables' linear KUBE-SERVICES walk) against the pod IP
directly (the reference, same run).

    .venv/bin/python benchmarks/proxy_bench.py                 # 1k/5k/10k, both modes (a few minutes)
    .venv/bin/python benchmarks/proxy_bench.py --sizes 1000 --connections 500

Not a test.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyk8s.proxy import backends  # noqa: E402
from pyk8s.proxy.changetracker import ChangeTracker  # noqa: E402
from pyk8s.proxy.interface import ProxyConfig  # noqa: E402

NODE = "bench-node"
CONFIG = ProxyConfig(node_name=NODE, node_ips=("192.168.77.2",), cluster_cidr="10.244.0.0/16")
POD_NET = "10.244.{}.{}"


def svc_ip(i: int) -> str:
    return str(ipaddress.IPv4Address("10.96.0.10") + i)


def fill(tracker: ChangeTracker, n: int) -> None:
    for i in range(n):
        name = f"svc-{i}"
        tracker.service_updated({"metadata": {"name": name, "namespace": "bench"},
                                 "spec": {"clusterIP": svc_ip(i), "type": "ClusterIP",
                                          "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
        tracker.slice_updated(slice_for(name, i, 0))


def slice_for(name: str, i: int, generation: int) -> dict[str, object]:
    base = (i * 2 + generation) % 60000
    eps = [{"addresses": [POD_NET.format(1 + (base + k) // 250 % 250, 1 + (base + k) % 250)],
            "conditions": {"ready": True}, "nodeName": NODE} for k in range(2)]
    return {"metadata": {"name": f"{name}-x", "namespace": "bench", "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "endpoints": eps, "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def cpu() -> float:
    """CPU seconds of this process and its finished children (nft, iptables-restore): load-independent."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def sync_times(mode: str, n: int) -> dict[str, float]:
    tracker = ChangeTracker(NODE)
    fill(tracker, n)
    provider = backends.new_provider(mode, CONFIG)
    services, _ = tracker.snapshot(full=True)
    t0, c0 = time.perf_counter(), cpu()
    provider.sync(services, None)
    full, full_cpu = time.perf_counter() - t0, cpu() - c0
    changes = []
    c0 = cpu()
    for k in range(3):
        t0 = time.perf_counter()
        tracker.slice_updated(slice_for(f"svc-{k * 7}", k * 7, k + 1))
        services, changed = tracker.snapshot()
        provider.sync(services, changed)
        changes.append(time.perf_counter() - t0)
    change_cpu = (cpu() - c0) / 3
    t0, c0 = time.perf_counter(), cpu()
    services, changed = tracker.snapshot(full=True)
    provider.sync(services, changed)
    resync, resync_cpu = time.perf_counter() - t0, cpu() - c0
    t0, c0 = time.perf_counter(), cpu()
    provider.sync(services, None)
    rewrite, rewrite_cpu = time.perf_counter() - t0, cpu() - c0
    return {"full": full, "change": statistics.median(changes), "resync": resync, "rewrite": rewrite,
            "full_cpu": full_cpu, "change_cpu": change_cpu, "resync_cpu": resync_cpu, "rewrite_cpu": rewrite_cpu,
            "tracker": tracker,
            "provider": provider}  # type: ignore[dict-item]


def echo_server(address: str, port: int, stop: threading.Event) -> socket.socket:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((address, port))
    srv.listen(512)

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(16)
                conn.sendall(data)

    threading.Thread(target=loop, daemon=True).start()
    return srv


def connect_loop(address: str, port: int, count: int) -> tuple[float, list[float]]:
    lat = []
    start = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        with socket.create_connection((address, port), timeout=5) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.sendall(b"x")
            s.recv(16)
        lat.append(time.perf_counter() - t0)
    return count / (time.perf_counter() - start), lat


def data_path(tracker: ChangeTracker, provider: object, n: int, count: int) -> dict[str, float]:
    """Point the last Service at a local echo server and time connections through it and direct."""
    pod_ip, vip = "10.244.250.250", svc_ip(n - 1)
    subprocess.run(["ip", "addr", "add", f"{pod_ip}/32", "dev", "lo"], check=False, capture_output=True)
    subprocess.run(["ip", "route", "add", "10.96.0.0/12", "dev", "lo"], check=False, capture_output=True)
    name = f"svc-{n - 1}"
    sl = slice_for(name, n - 1, 0)
    sl["endpoints"] = [{"addresses": [pod_ip], "conditions": {"ready": True}, "nodeName": NODE}]  # type: ignore[index]
    tracker.slice_updated(sl)
    services, changed = tracker.snapshot()
    provider.sync(services, changed)  # type: ignore[attr-defined]
    stop = threading.Event()
    srv = echo_server(pod_ip, 8080, stop)
    try:
        connect_loop(pod_ip, 8080, 50)  # warm-up
        direct, via, direct_time, via_time = [], [], 0.0, 0.0
        for _ in range(10):  # interleaved, so a busy moment on the machine hits both alike
            cps, lat = connect_loop(pod_ip, 8080, count // 10)
            direct += lat
            direct_time += len(lat) / cps
            cps, lat = connect_loop(vip, 80, count // 10)
            via += lat
            via_time += len(lat) / cps
        direct_cps, vip_cps = len(direct) / direct_time, len(via) / via_time
    finally:
        stop.set()
        srv.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the server thread
        srv.close()
    q = statistics.quantiles
    return {"direct_cps": direct_cps, "vip_cps": vip_cps, "direct_p50": q(direct, n=100)[49],
            "vip_p50": q(via, n=100)[49], "direct_p99": q(direct, n=100)[98], "vip_p99": q(via, n=100)[98]}


def inner(args: argparse.Namespace) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    print(f"load average {os.getloadavg()[0]:.1f}; wall time, then (CPU seconds of the proxy and nft/iptables)")
    print(f"{'mode':9} {'services':>8} {'first sync':>18} {'change->live':>21} {'30s resync':>18} {'rewrite':>18}")
    for mode in args.modes:
        last = None
        sizes = [n for n in args.sizes if mode != "iptables" or n <= args.iptables_max]
        for n in sizes:
            if last is not None:
                last["provider"].cleanup()  # type: ignore[attr-defined]  # each size starts from nothing
            r = sync_times(mode, n)
            print(f"{mode:9} {n:8d} {r['full']:8.3f}s ({r['full_cpu']:6.2f}s) {r['change'] * 1000:9.1f}ms "
                  f"({r['change_cpu'] * 1000:6.0f}ms) {r['resync']:8.3f}s ({r['resync_cpu']:6.2f}s) {r['rewrite']:8.3f}s ({r['rewrite_cpu']:6.2f}s)"
                  f"  load {os.getloadavg()[0]:.1f}", flush=True)
            last = r
        assert last is not None
        if args.connections:
            d = data_path(last["tracker"], last["provider"], sizes[-1], args.connections)  # type: ignore[arg-type]
            print(f"{mode:9} data path, {sizes[-1]} services, {args.connections} connections: "
                  f"ClusterIP {d['vip_cps']:.0f} conn/s (p50 {d['vip_p50'] * 1e6:.0f} us, p99 {d['vip_p99'] * 1e6:.0f} us)"
                  f" vs pod IP {d['direct_cps']:.0f} conn/s (p50 {d['direct_p50'] * 1e6:.0f} us, p99 "
                  f"{d['direct_p99'] * 1e6:.0f} us): ratio {d['vip_cps'] / d['direct_cps']:.2f}", flush=True)
        last["provider"].cleanup()  # type: ignore[attr-defined]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1000, 5000, 10000])
    p.add_argument("--modes", type=lambda s: s.split(","), default=["nftables", "iptables"])
    p.add_argument("--iptables-max", type=int, default=10000, help="largest size run in iptables mode")
    p.add_argument("--connections", type=int, default=2000)
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner:
        inner(args)
        return
    if os.geteuid() != 0:
        sys.exit("needs root (a network namespace of its own)")
    cmd = ["unshare", "--net", "--", sys.executable, __file__, "--inner", *sys.argv[1:]]
    sys.exit(subprocess.run(cmd, check=False).returncode)


if __name__ == "__main__":
    main()
