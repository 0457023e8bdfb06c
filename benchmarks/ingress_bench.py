"""Requests per second through the ingress's nginx, against the same nginx serving the backend directly.

Run: ``.venv/bin/python benchmarks/ingress_bench.py [--seconds 10] [--connections 32]``
(needs nginx and wrk, both from Debian; scripts/setup.sh installs them).

Everything is on 127.0.0.1:

* the backend: nginx (one worker) serving a 612-byte static page, as the
  nginx pods of the seeds do;
* the ingress: the configuration ``pyk8s.ingress`` renders for one Ingress
  (a host, a Prefix path) whose Service's EndpointSlice lists the backend,
  run by ``pyk8s.ingress.nginx.NginxProcess`` (one worker, keepalive to the
  upstream), exactly as the controller runs it;
* the load: ``wrk`` (one thread, N keep-alive connections) against the
  backend directly, then through the ingress with the Host header.

The ratio ingress/direct is the cost of the proxy hop.  A third run goes
through the ingress while the controller's reload path (``nginx -t``, then
SIGHUP) runs every 0.5 s with a changing configuration, and reports the
failed requests; a fourth does the same with ``Connection: close`` (a new
connection per request).  No request in flight is dropped by a reload, but
an idle keep-alive connection that an old worker closes as it retires can
cross a request the client sends at that moment: wrk counts those as read
errors, where browsers and HTTP libraries retry (RFC 9112, 9.3.1); ingress-
nginx's reloads behave the same.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from pyk8s.ingress import model
from pyk8s.ingress.nginx import NginxProcess, find_nginx, worker_user
from pyk8s.ingress.nginxconf import NginxSettings, render

HOST = "bench.example.test"
PAGE = ("<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>"
        + "x" * 520 + "</body></html>\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_backend(root: Path, port: int) -> subprocess.Popen[bytes]:
    (root / "www").mkdir(parents=True)
    for path in (root.parent, root, root / "www"):
        os.chmod(path, 0o755)  # the workers run as nobody
    (root / "logs").mkdir()
    (root / "www" / "index.html").write_text(PAGE)
    conf = root / "nginx.conf"
    conf.write_text(f"daemon off; worker_processes 1; pid nginx.pid; error_log logs/error.log;\n"
                    f"events {{ worker_connections 4096; }}\n"
                    f"http {{ access_log off; keepalive_requests 100000;"
                    f" server {{ listen 127.0.0.1:{port}; root {root / 'www'}; }} }}\n")
    proc = subprocess.Popen([find_nginx(), "-p", f"{root}/", "-e", str(root / "logs" / "error.log"), "-c", str(conf)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    wait_port(port)
    return proc


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def ingress_model(backend_port: int, variant: int = 0) -> model.Model:
    ing = {"metadata": {"name": "bench", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"rules": [{"host": HOST, "http": {"paths": [
               {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
               # A changing extra path makes each reload's configuration differ.
               {"path": f"/v{variant}", "pathType": "Exact",
                "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    svc = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"name": "http", "port": 80}]}}
    es = {"metadata": {"name": "web-1", "namespace": "default", "labels": {model.SERVICE_NAME_LABEL: "web"}},
          "addressType": "IPv4", "ports": [{"name": "http", "port": backend_port, "protocol": "TCP"}],
          "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]}
    return model.build(model.Inputs([ing], service=lambda ns, n: svc, slices=lambda ns, n: [es],
                                    secret=lambda ns, n: None))


def wrk(url: str, seconds: int, connections: int, host: str = "", close: bool = False) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if host:
        cmd[1:1] = ["-H", f"Host: {host}"]
    if close:
        cmd[1:1] = ["-H", "Connection: close"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    def unit(value: str, suffix: str) -> float:
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[suffix]

    result: dict[str, float] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", out)
        result[f"p{pct}_ms"] = unit(m.group(1), m.group(2)) if m else float("nan")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    for i, kind in enumerate(("connect", "read", "write", "timeout")):
        result[f"{kind}_errors"] = float(errors.group(i + 1)) if errors else 0.0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    result["requests"] = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return result


async def reload_loop(nginx: NginxProcess, backend_port: int, settings: NginxSettings, seconds: float) -> int:
    reloads, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(0.5)
        reloads += 1
        conf, files = render(ingress_model(backend_port, reloads), settings)
        await nginx.apply(conf, files)
    return reloads


async def main_async(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="pyk8s-ingress-bench-"))
    backend_port, ingress_port = free_port(), free_port()
    backend = start_backend(root / "backend", backend_port)
    nginx = NginxProcess(root / "ingress", user=worker_user())
    settings = NginxSettings(prefix=str(root / "ingress"), http_port=ingress_port, https_port=free_port(),
                             bind_addresses=("127.0.0.1",), worker_processes="1", user=nginx.user,
                             temp_dir=str(nginx.temp_dir))
    try:
        conf, files = render(ingress_model(backend_port), settings)
        await nginx.apply(conf, files)
        wait_port(ingress_port)
        direct_url = f"http://127.0.0.1:{backend_port}/index.html"
        ingress_url = f"http://127.0.0.1:{ingress_port}/index.html"
        wrk(direct_url, 2, args.connections)  # warm-up
        wrk(ingress_url, 2, args.connections, HOST)
        direct = await asyncio.to_thread(wrk, direct_url, args.seconds, args.connections)
        through = await asyncio.to_thread(wrk, ingress_url, args.seconds, args.connections, HOST)
        loaded = asyncio.create_task(asyncio.to_thread(wrk, ingress_url, args.seconds, args.connections, HOST))
        reloads = await reload_loop(nginx, backend_port, settings, args.seconds - 1)
        under_reload = await loaded
        loaded = asyncio.create_task(asyncio.to_thread(wrk, ingress_url, args.seconds, args.connections, HOST, True))
        reloads_closing = await reload_loop(nginx, backend_port, settings, args.seconds - 1)
        closing = await loaded
    finally:
        await nginx.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(backend.pid, signal.SIGTERM)
        backend.wait(10)
        shutil.rmtree(root, ignore_errors=True)
    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, nginx 1 worker each, 612-byte page, loopback")
    for name, r in (("direct to the backend nginx", direct), ("through the ingress nginx", through),
                    (f"through the ingress, {reloads} reloads", under_reload),
                    (f"  same, Connection: close, {reloads_closing} reloads", closing)):
        print(f"  {name:38s} {r['rps']:9.0f} req/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  "
              f"errors connect/read/write/timeout {int(r['connect_errors'])}/{int(r['read_errors'])}/"
              f"{int(r['write_errors'])}/{int(r['timeout_errors'])}  non-2xx {int(r['non_2xx'])}  ({int(r['requests'])} requests)")
    print(f"  ratio ingress/direct: {through['rps'] / direct['rps']:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--connections", type=int, default=32)
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (scripts/setup.sh installs it)")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
