"""Authorization and admission cost: pod creates at 200/s and list latency, ``Node,RBAC`` + the full admission
chain against ``AlwaysAllow`` with no admission, in the same run, with 1,000 RoleBindings present.

Three ``pyk8s server`` subprocesses (no controllers, scheduler or kubelet), all up at once and taking turns
(``--rounds``, 5 by default: each creates for a fifth of ``--seconds`` per turn, then the lists alternate
the same way), so a load spike from elsewhere on a shared machine lands on every column.  Each first
creates for ``--warmup`` seconds (2) unmeasured, so first-use work (caches, connections) is not in the p99:

* ``rbac``: the defaults (``--authorization-mode Node,RBAC``, every default admission plugin, ServiceAccount and
  TaintNodesByCondition included: the test harness leaves those two out of a bare server unless told);
* ``authz``: ``Node,RBAC`` without admission (what authorization alone costs);
* ``open``: ``--authorization-mode AlwaysAllow --disable-admission-plugins <all>``.

On each, the admin makes namespace ``bench`` (and its ``default`` ServiceAccount) and 1,000 RoleBindings
(999 to other users, one granting ``bench-user`` a ClusterRole to read and create pods); then ``bench-user`` (a client certificate,
so every request goes through RBAC, not the ``system:masters`` shortcut) creates pods open-loop at 200/s
(latency counted from each create's scheduled send time) and lists the namespace's pods.  The result is
printed as the ``rbac`` figure, the ``open`` figure and their ratio (target: within 10 %), with the server's
CPU time per create and per list (utime+stime from /proc: on a shared machine it moves far less than latency).

Two things keep the ratios about authorization and admission rather than about something else:

* The servers' data directories are on tmpfs (``/dev/shm``) unless ``--disk``: every create is an fsync, and
  on this machine's disk a few slow fsyncs land on one column or another at random and decide its p99.  The
  disk is the same for every column and is not what is compared (``storage_bench.py`` measures it).
* The ``bench`` lists compare different objects: the chain makes each pod ~43 % larger (a service-account token
  volume and its mounts, two tolerations, a priority), as upstream's does.  So every server also holds namespace
  ``same`` with as many pods **of one admitted form** (a pod the first server's chain admitted, copied), and
  ``list_same`` lists those: the same bytes on every column, so its ratio is what authorization and the
  request path cost a list.

    .venv/bin/python benchmarks/authz_bench.py              # 10 s at 200/s (2,000 pods), 10 lists
    .venv/bin/python benchmarks/authz_bench.py --seconds 5 --rate 100   # below saturation on a busy machine

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import aiohttp  # noqa: E402
import orjson  # noqa: E402

from pyk8s.apiserver.admission.chain import NAMES  # noqa: E402
from pyk8s.testing.cluster import ServerProcess  # noqa: E402
from pyk8s.util import pki  # noqa: E402

RATE = 200
BINDINGS = 1000
NS = "bench"
SAME = "same"  # pods of one admitted form on every server: lists of equal bytes


def ssl_context(data_dir: Path, cert: pki.KeyPair) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(data_dir / "pki" / "ca.crt"))
    ctx.load_cert_chain(str(cert.cert_path), str(cert.key_path))
    return ctx


def pod(i: int) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p-{i}", "namespace": NS},
                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}})


async def post(session: aiohttp.ClientSession, url: str, body: Any) -> None:
    async with session.post(url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}) as r:
        if r.status not in (200, 201, 409):
            raise RuntimeError(f"{url}: {r.status} {await r.text()}")


async def setup(srv: ServerProcess, admin: ssl.SSLContext) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=admin, limit=16)) as s:
        await post(s, f"{srv.url}/api/v1/namespaces", {"metadata": {"name": NS}})
        await post(s, f"{srv.url}/api/v1/namespaces/{NS}/serviceaccounts", {"metadata": {"name": "default"}})
        # Its own role: edit's rules come from the aggregation controller, which these servers do not run.
        await post(s, f"{srv.url}/apis/rbac.authorization.k8s.io/v1/clusterroles", {
            "metadata": {"name": "bench-pods"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "create"]}]})
        rb = f"{srv.url}/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/rolebindings"

        def binding(i: int) -> dict[str, Any]:
            user = "bench-user" if i == 0 else f"user-{i}"
            return {"metadata": {"name": f"rb-{i}"}, "subjects": [{"kind": "User", "name": user,
                                                                  "apiGroup": "rbac.authorization.k8s.io"}],
                    "roleRef": {"kind": "ClusterRole", "name": "bench-pods", "apiGroup": "rbac.authorization.k8s.io"}}

        for start in range(0, BINDINGS, 50):
            await asyncio.gather(*(post(s, rb, binding(i)) for i in range(start, min(start + 50, BINDINGS))))
        await post(s, f"{srv.url}/api/v1/namespaces", {"metadata": {"name": SAME}})
        await post(s, f"{srv.url}/api/v1/namespaces/{SAME}/serviceaccounts", {"metadata": {"name": "default"}})
        await post(s, f"{srv.url}/apis/rbac.authorization.k8s.io/v1/namespaces/{SAME}/rolebindings", binding(0))


async def admitted_form(srv: ServerProcess, admin: ssl.SSLContext) -> dict[str, Any]:
    """What this server's admission chain makes of the benchmark's pod: created in ``same``, read back,
    reduced to what a client would send (name and namespace set per copy)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=admin)) as s:
        url = f"{srv.url}/api/v1/namespaces/{SAME}/pods"
        body = orjson.loads(pod(0))
        body["metadata"]["namespace"] = SAME
        async with s.post(url, data=orjson.dumps(body), headers={"Content-Type": "application/json"}) as r:
            created = await r.json()
            assert r.status == 201, (r.status, created)
        async with s.delete(f"{url}/p-0", params={"gracePeriodSeconds": "0"}) as r:
            assert r.status == 200, r.status
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": SAME}, "spec": created["spec"]}


async def fill_same(srv: ServerProcess, admin: ssl.SSLContext, form: dict[str, Any], count: int) -> None:
    """``count`` copies of ``form`` in namespace ``same`` (created by the admin, 32 at a time)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=admin, limit=32)) as s:
        url = f"{srv.url}/api/v1/namespaces/{SAME}/pods"
        for start in range(0, count, 32):
            await asyncio.gather(*(post(s, url, {**form, "metadata": {"name": f"q-{i}", "namespace": SAME}})
                                   for i in range(start, min(start + 32, count))))


async def creates(srv: ServerProcess, ctx: ssl.SSLContext, seconds: float, first: int = 0,
                  session: aiohttp.ClientSession | None = None) -> list[float]:
    """Open-loop creates at RATE for ``seconds`` (pods ``p-<first>``...), through ``session`` if given
    (its connections kept from one turn to the next), else through a session of their own."""
    if session is None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=256)) as s:
            return await creates(srv, ctx, seconds, first, s)
    url = f"{srv.url}/api/v1/namespaces/{NS}/pods"
    latencies: list[float] = []

    async def one(i: int, due: float) -> None:
        async with session.post(url, data=pod(i), headers={"Content-Type": "application/json"}) as r:
            await r.read()
            if r.status != 201:
                raise RuntimeError(f"create: {r.status} {await r.text()}")
        latencies.append(time.monotonic() - due)

    start = time.monotonic() + 0.2
    tasks = []
    for n in range(int(RATE * seconds)):
        due = start + n / RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(one(first + n, due)))
    await asyncio.gather(*tasks)
    return latencies


async def lists(srv: ServerProcess, ctx: ssl.SSLContext, count: int, sizes: list[int] | None = None,
                namespace: str = NS) -> list[float]:
    """``count`` lists of ``namespace``'s pods, their times (and body sizes into ``sizes``)."""
    out = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
        for _ in range(count):
            t = time.monotonic()
            async with s.get(f"{srv.url}/api/v1/namespaces/{namespace}/pods") as r:
                body = await r.read()
                assert r.status == 200, r.status
            out.append(time.monotonic() - t)
            if sizes is not None:
                sizes.append(len(body))
    return out


def cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of the server process (all threads)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p99(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.99) - 1)] * 1000


class Run:
    """One configuration's server, set up, with what its phases measured so far."""

    def __init__(self, args: list[str], warmup: float = 0.0) -> None:
        self.args = args
        self.warmup = warmup
        self.warmed = 0  # pods created while warming up
        self.srv: ServerProcess | None = None
        self.ctx: ssl.SSLContext | None = None
        self.latencies: list[float] = []
        self.listed: list[float] = []
        self.list_bytes: list[int] = []
        self.listed_same: list[float] = []
        self.same_bytes: list[int] = []
        self.admin: ssl.SSLContext | None = None
        self.cpu_create = self.cpu_list = self.cpu_same = 0.0
        self.loads: list[float] = []
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        # No in-flight cap: a slow server shows as latency here, not as 429s.
        self.srv = srv = ServerProcess(extra_args=[*self.args, "--max-requests-inflight", "0",
                                                  "--max-mutating-requests-inflight", "0"]).start()
        data = Path(srv.data_dir)
        ca = pki.KeyPair((data / "pki/ca.crt").read_bytes(), (data / "pki/ca.key").read_bytes(),
                         data / "pki/ca.crt", data / "pki/ca.key")
        user = pki.issue_cert(ca, data / "bench.crt", data / "bench.key", common_name="bench-user")
        admin = pki.KeyPair(b"", b"", data / "pki/admin.crt", data / "pki/admin.key")
        self.admin = ssl_context(data, admin)
        await setup(srv, self.admin)
        self.ctx = ssl_context(data, user)
        # One client for every turn: its connections (and TLS sessions) stay open between turns.
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.ctx, limit=256,
                                                                           keepalive_timeout=300))
        await lists(srv, self.ctx, 2)  # warm the watch caches
        if self.warmup > 0:  # first-use work (admission's caches, the RBAC index, connections) is not measured
            self.warmed = len(await creates(srv, self.ctx, self.warmup, first=0, session=self.session))

    async def create_phase(self, seconds: float) -> None:
        assert self.srv is not None and self.ctx is not None
        cpu0 = cpu_s(self.srv.pid)
        self.latencies += await creates(self.srv, self.ctx, seconds, first=self.warmed + len(self.latencies),
                                        session=self.session)
        self.cpu_create += cpu_s(self.srv.pid) - cpu0
        self.loads.append(os.getloadavg()[0])

    async def list_phase(self, count: int) -> None:
        assert self.srv is not None and self.ctx is not None
        cpu0 = cpu_s(self.srv.pid)
        self.listed += await lists(self.srv, self.ctx, count, self.list_bytes)
        self.cpu_list += cpu_s(self.srv.pid) - cpu0
        cpu0 = cpu_s(self.srv.pid)
        self.listed_same += await lists(self.srv, self.ctx, count, self.same_bytes, SAME)
        self.cpu_same += cpu_s(self.srv.pid) - cpu0
        self.loads.append(os.getloadavg()[0])

    def result(self) -> dict[str, float]:
        lat, listed = self.latencies, self.listed
        return {"create_p99_ms": p99(lat), "create_p50_ms": statistics.median(lat) * 1000,
                "list_median_ms": statistics.median(listed) * 1000, "list_max_ms": max(listed) * 1000,
                "cpu_per_create_ms": self.cpu_create / len(lat) * 1000,
                "cpu_per_list_ms": self.cpu_list / len(listed) * 1000,
                # What a list carries: admitted pods hold a token volume, its mounts, tolerations, priority.
                "list_kbytes": statistics.median(self.list_bytes) / 1000,
                # The same pods (one admitted form) on every server: the list's own cost, equal bytes.
                "list_same_median_ms": statistics.median(self.listed_same) * 1000,
                "cpu_per_list_same_ms": self.cpu_same / len(self.listed_same) * 1000,
                "list_same_kbytes": statistics.median(self.same_bytes) / 1000}

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
        if self.srv is not None:
            self.srv.close()
            shutil.rmtree(self.srv.root, ignore_errors=True)


async def measure_all(configs: dict[str, list[str]], seconds: float, list_count: int,
                      rounds: int, warmup: float = 0.0, same: int = 0) -> dict[str, dict[str, float]]:
    """Every configuration's server up at once, then ``rounds`` turns: each creates for its share of
    ``seconds`` and lists its share of ``list_count`` times, one configuration after the other.  A load
    spike from elsewhere then lands on every column instead of on whichever server ran at that moment."""
    runs = {name: Run(args, warmup) for name, args in configs.items()}
    try:
        for run in runs.values():
            await run.start()
        first = next(iter(runs.values()))  # the full chain's server: its admitted pod is the common form
        assert first.srv is not None and first.admin is not None
        form = await admitted_form(first.srv, first.admin)
        for run in runs.values():
            assert run.srv is not None and run.admin is not None
            await fill_same(run.srv, run.admin, form, same)
        for _ in range(rounds):
            for run in runs.values():
                await run.create_phase(seconds / rounds)
        for r in range(rounds):
            for run in runs.values():
                await run.list_phase(list_count // rounds + (1 if r < list_count % rounds else 0))
        for name, run in runs.items():
            print(f"  {name}: {' '.join(run.args)[:60]}: load average {min(run.loads):.1f}-{max(run.loads):.1f}")
        return {name: run.result() for name, run in runs.items()}
    finally:
        for run in runs.values():
            await run.close()


async def measure(args: list[str], seconds: float, list_count: int) -> dict[str, float]:
    """One configuration alone (its own server, one create phase, one list phase)."""
    return (await measure_all({"one": args}, seconds, list_count, 1, same=int(RATE * seconds)))["one"]


def use_tmpfs(wanted: bool) -> None:
    """The servers' temporary roots (their data) on /dev/shm when ``wanted`` and the machine has it."""
    if wanted and os.path.isdir("/dev/shm"):
        tempfile.tempdir = "/dev/shm"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--lists", type=int, default=30)
    ap.add_argument("--disk", action="store_true",
                    help="the servers' data on the disk (TMPDIR) instead of tmpfs: p99 then shows the disk's fsyncs too")
    ap.add_argument("--rate", type=int, default=200, help="creates per second (default 200, the issue's)")
    ap.add_argument("--warmup", type=float, default=2.0,
                    help="seconds of creates at the same rate before measuring (their pods stay for the lists)")
    ap.add_argument("--rounds", type=int, default=5,
                    help="turns the three servers take (each creates seconds/rounds per turn); 1: one after another")
    a = ap.parse_args()
    global RATE
    RATE = a.rate
    no_admission = ["--disable-admission-plugins", ",".join(NAMES)]
    use_tmpfs(not a.disk)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the start; "
          f"data on {'tmpfs' if tempfile.gettempdir() == '/dev/shm' else tempfile.gettempdir()}")
    results = await measure_all({
        # Naming the plugins keeps the test harness from disabling these two, as it does for a bare server:
        # the full chain includes ServiceAccount (the bench makes the account it needs).
        "rbac": ["--authorization-mode", "Node,RBAC", "--enable-admission-plugins", "ServiceAccount,TaintNodesByCondition"],
        "authz": ["--authorization-mode", "Node,RBAC", *no_admission],
        "open": ["--authorization-mode", "AlwaysAllow", *no_admission],
    }, a.seconds, a.lists, max(1, a.rounds), a.warmup, same=int(RATE * a.seconds))
    print(f"pods: {int(RATE * a.seconds)} created at {RATE}/s by a user bound among {BINDINGS} RoleBindings, "
          f"after {int(RATE * a.warmup)} not measured; lists hold both; namespace {SAME}: as many of one admitted form")
    print("columns: Node,RBAC + the default admission chain | Node,RBAC, no admission | AlwaysAllow, no admission")
    print(f"{'':16}{'RBAC+adm':>10}{'RBAC':>10}{'open':>10}{'RBAC+adm/open':>15}{'RBAC/open':>11}")
    for key in results["rbac"]:
        r, z, o = results["rbac"][key], results["authz"][key], results["open"][key]
        print(f"{key:16}{r:10.1f}{z:10.1f}{o:10.1f}{r / o:15.2f}{z / o:11.2f}")


if __name__ == "__main__":
    asyncio.run(main())
