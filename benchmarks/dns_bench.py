"""Cluster DNS benchmark: ``pyk8s dns``'s server against dnsmasq, same zone, same queries, same run.

The zone: ``--services N`` ClusterIP Services (``svc-<i>.default.svc.cluster.local``
with an SRV for their named port) plus a headless ``nginx`` with three
endpoints.  Our server runs in its own process (uvloop, the resolver over
fake informer stores holding that zone: the query path is the same as with
real informers); dnsmasq (Debian's) runs on 127.0.0.1 with the same names as
host records and SRV records, ``--local=/cluster.local/`` and no upstream,
so a missing name is NXDOMAIN from both and nothing is forwarded.

The query mix (one file for both): 80 % A for random Services, 10 % A for
missing names (NXDOMAIN), 10 % SRV.  Measured per server:
  - throughput: dnsperf (Debian's; C) for ``--seconds`` with 100 queries in
    flight, and the server's CPU seconds over the same window (from
    /proc/PID/stat), giving queries per CPU-second: the comparable figure to
    CoreDNS's ~17,000 queries/s per core;
  - latency: a Python client asking 2,000 queries one at a time while dnsperf
    keeps a fixed background load (``--load`` queries/s) on the server:
    p50 and p99 in milliseconds;
  - ours while one Service's EndpointSlice changes ``--churn`` times a
    second (a rolling update: the cache drops that Service's answers only),
    and ours without its answer cache (``cache_size=0``): the resolver's own
    cost, what every answer would cost if any change flushed everything.
It prints ours/dnsmasq ratios.  Not a test.  Everything stays on 127.0.0.1.

    .venv/bin/python benchmarks/dns_bench.py [--services 1000] [--seconds 10] [--load 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dns.message  # noqa: E402
import dns.query  # noqa: E402

from pyk8s.testing import dnszone  # noqa: E402

ZONE = "cluster.local"


def free_udp_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(port)
    raise OSError("no free port")


# --- servers ---------------------------------------------------------------------------------------


def serve_ours(port: int, services: int, cache: bool, churn: float) -> None:
    """Child process: our DNSServer over the benchmark zone; ``churn`` endpoint changes per second."""
    import asyncio

    import uvloop

    from pyk8s.dns.resolver import Resolver
    from pyk8s.dns.server import DNSServer

    view = dnszone.zone(dnszone.bench_zone(services))
    server = DNSServer(Resolver(view), address="127.0.0.1", port=port, cache_size=20000 if cache else 0)

    async def churning() -> None:
        # What a rolling update looks like to DNS: one Service's EndpointSlice changing, over and over.
        flip = 0
        while True:
            await asyncio.sleep(1 / churn)
            flip ^= 1
            eps = dnszone.endpoint_slice("nginx", [dnszone.endpoint(f"10.244.0.{10 + i}", hostname=f"web-{i}",
                                                                    ready=bool(flip or i))
                                                   for i in range(3)])
            view.slices.add(eps)
            view.changed(eps)

    async def run() -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(server.run())
            if churn:
                tg.create_task(churning())

    uvloop.run(run())


def start_ours(services: int, cache: bool, churn: float = 0) -> tuple[subprocess.Popen[bytes], int]:
    port = free_udp_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--services", str(services),
                             "--churn", str(churn), *([] if cache else ["--no-cache"])], start_new_session=True)
    return proc, port


def start_dnsmasq(services: int, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_udp_port()
    objs = dnszone.bench_zone(services)
    hosts, srvs = [], []
    for obj in objs:
        if obj["kind"] != "Service":
            continue
        name, ip = obj["metadata"]["name"], obj["spec"]["clusterIP"]
        fqdn = f"{name}.default.svc.{ZONE}"
        if ip != "None":
            hosts.append(f"{ip} {fqdn}")
            srvs.append(f"srv-host=_http._tcp.{fqdn},{fqdn},80,0,100")
    for i in range(3):
        hosts.append(f"10.244.0.{10 + i} web-{i}.nginx.default.svc.{ZONE} nginx.default.svc.{ZONE}")
    (workdir / "hosts").write_text("\n".join(hosts) + "\n")
    (workdir / "dnsmasq.conf").write_text("\n".join(srvs) + "\n")
    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    proc = subprocess.Popen([binary, "--keep-in-foreground", "--conf-file=" + str(workdir / "dnsmasq.conf"),
                             "--no-resolv", "--no-hosts", "--no-poll", f"--addn-hosts={workdir / 'hosts'}",
                             f"--local=/{ZONE}/", "--listen-address=127.0.0.1", "--bind-interfaces",
                             f"--port={port}", "--pid-file=", "--cache-size=10000", "--user=root",
                             "--dns-forward-max=1000", "--local-ttl=30", "--neg-ttl=30"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, port


def wait_answering(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    q = dns.message.make_query(f"svc-0.default.svc.{ZONE}.", "A")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if dns.query.udp(q, "127.0.0.1", port=port, timeout=0.5).answer:
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.2)
    raise TimeoutError("server does not answer")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(5)


# --- load ----------------------------------------------------------------------------------------------


def query_file(services: int, path: Path, count: int = 20000) -> list[tuple[str, str]]:
    rng = random.Random(7)
    queries: list[tuple[str, str]] = []
    for _ in range(count):
        roll = rng.random()
        i = rng.randrange(services)
        if roll < 0.8:
            queries.append((f"svc-{i}.default.svc.{ZONE}", "A"))
        elif roll < 0.9:
            queries.append((f"missing-{i}.default.svc.{ZONE}", "A"))
        else:
            queries.append((f"_http._tcp.svc-{i}.default.svc.{ZONE}", "SRV"))
    path.write_text("".join(f"{n} {t}\n" for n, t in queries))
    return queries


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dnsperf(port: int, qfile: Path, seconds: float, *, rate: int = 0) -> subprocess.Popen[str]:
    args = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(qfile), "-l", str(seconds), "-q", "100",
            "-t", "2"]
    if rate:
        args += ["-Q", str(rate)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def throughput(port: int, pid: int, qfile: Path, seconds: float) -> dict[str, float]:
    cpu0 = cpu_seconds(pid)
    out, _ = dnsperf(port, qfile, seconds).communicate()
    cpu = cpu_seconds(pid) - cpu0
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    completed = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    return {"qps": qps, "cpu": cpu, "per_cpu_s": completed / cpu if cpu else 0.0, "lost": lost}


def latency(port: int, qfile: Path, queries: list[tuple[str, str]], load: int, n: int = 2000) -> dict[str, float]:
    background = dnsperf(port, qfile, 60, rate=load) if load else None
    try:
        time.sleep(0.5)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("127.0.0.1", port))
            sock.settimeout(2)
            samples = []
            for name, rdtype in queries[:n]:
                wire = dns.message.make_query(name, rdtype).to_wire()
                t0 = time.perf_counter()
                sock.send(wire)
                try:
                    while sock.recv(65535)[:2] != wire[:2]:
                        pass
                except TimeoutError:
                    continue
                samples.append((time.perf_counter() - t0) * 1000)
    finally:
        if background is not None:
            background.terminate()
            background.communicate()
    samples.sort()
    return {"p50": statistics.median(samples), "p99": samples[int(len(samples) * 0.99) - 1],
            "answered": len(samples)}


def measure(name: str, start, args, qfile: Path, queries) -> dict[str, float]:  # type: ignore[no-untyped-def]
    proc, port = start()
    try:
        wait_answering(port, proc)
        tp = throughput(port, proc.pid, qfile, args.seconds)
        lat = latency(port, qfile, queries, args.load)
    finally:
        stop(proc)
    print(f"{name:<22} {tp['qps']:>9.0f} q/s  {tp['per_cpu_s']:>9.0f} q/CPU-s  lost {tp['lost']:<5.0f}"
          f"  p50 {lat['p50']:.3f} ms  p99 {lat['p99']:.3f} ms (under {args.load} q/s)", flush=True)
    return {**tp, **lat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--load", type=int, default=2000, help="background queries/s during the latency probe")
    parser.add_argument("--churn", type=float, default=20, help="endpoint changes/s in the churn run")
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--no-cache", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_ours(args.serve, args.services, cache=not args.no_cache, churn=args.churn)
        return
    for tool in ("dnsperf", "dnsmasq"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: run scripts/setup.sh")
    with tempfile.TemporaryDirectory(prefix="pyk8s-dns-bench-") as tmp:
        work = Path(tmp)
        qfile = work / "queries.txt"
        queries = query_file(args.services, qfile)
        print(f"zone: {args.services} ClusterIP Services + 1 headless; mix 80% A, 10% NXDOMAIN, 10% SRV; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
        ref = measure("dnsmasq (reference)", lambda: start_dnsmasq(args.services, work), args, qfile, queries)
        ours = measure("pyk8s dns", lambda: start_ours(args.services, True), args, qfile, queries)
        churn = measure(f"pyk8s dns, {args.churn:g} chg/s", lambda: start_ours(args.services, True, args.churn),
                        args, qfile, queries)
        raw = measure("pyk8s dns, no cache", lambda: start_ours(args.services, False), args, qfile, queries)
    for label, r in (("pyk8s dns", ours), (f"pyk8s dns, {args.churn:g} chg/s", churn),
                     ("pyk8s dns, no cache", raw)):
        print(f"{label}/dnsmasq: throughput {r['qps'] / ref['qps']:.2f}x, per CPU-second "
              f"{r['per_cpu_s'] / ref['per_cpu_s']:.2f}x, p99 {r['p99'] / ref['p99']:.2f}x; "
              f"against CoreDNS's ~17,000 q/s per core: {r['per_cpu_s'] / 17000:.2f}x")


if __name__ == "__main__":
    main()
