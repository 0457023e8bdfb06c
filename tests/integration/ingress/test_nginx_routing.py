"""Rendered configurations served by the real nginx on loopback: path matching, hosts, reloads, stop.

The backends are one more nginx answering with its own name per port, so a
request's answer says which backend the ingress chose.  Everything listens
on 127.0.0.1; every nginx is stopped by PID.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from pyk8s.ingress import model
from pyk8s.ingress.nginx import NginxProcess, worker_user
from pyk8s.ingress.nginxconf import NginxSettings, render

pytestmark = pytest.mark.skipif(shutil.which("nginx", path="/usr/sbin:/usr/bin") is None,
                                reason="nginx is not installed (scripts/setup.sh installs nginx-light)")
BACKENDS = ("exact", "prefix", "deep", "root", "wild", "other")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """One nginx answering "<name> <uri>" on a port per backend name."""
    root = tmp_path_factory.mktemp("backends")
    ports = {name: free_port() for name in BACKENDS}
    servers = "".join(f"server {{ listen 127.0.0.1:{p}; location / {{ return 200 \"{n} $request_uri\\n\"; }} }}\n"
                      for n, p in ports.items())
    (root / "logs").mkdir()
    (root / "nginx.conf").write_text(f"daemon off; pid nginx.pid; worker_processes 1;\nevents {{}}\n"
                                     f"http {{ access_log off; {servers} }}\n")
    proc = subprocess.Popen(["nginx", "-p", f"{root}/", "-e", str(root / "logs/error.log"), "-c",
                             str(root / "nginx.conf")], start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for port in ports.values():
            wait_port(port)
        yield ports
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def wait_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(port)


def _path(path: str, ptype: str, svc: str) -> dict[str, Any]:
    return {"path": path, "pathType": ptype, "backend": {"service": {"name": svc, "port": {"number": 80}}}}


def ingresses() -> list[dict[str, Any]]:
    rules = [{"host": "h.example.test", "http": {"paths": [
        _path("/foo", "Prefix", "prefix"), _path("/foo", "Exact", "exact"), _path("/foo/bar/", "Prefix", "deep"),
        _path("/", "Prefix", "root"), _path("/impl", "ImplementationSpecific", "deep")]}},
        {"host": "*.wild.test", "http": {"paths": [_path("/", "Prefix", "wild")]}},
        {"host": "exact.wild.test", "http": {"paths": [_path("/", "Prefix", "other")]}}]
    return [{"metadata": {"name": "i", "namespace": "ns", "creationTimestamp": "2026-01-01T00:00:00Z"},
             "spec": {"rules": rules}}]


def build_model(ports: dict[str, int], extra: list[dict[str, Any]] | None = None) -> model.Model:
    def service(ns: str, name: str) -> dict[str, Any] | None:
        return {"spec": {"ports": [{"name": "http", "port": 80}]}} if name in ports else None

    def slices(ns: str, name: str) -> list[dict[str, Any]]:
        return [{"addressType": "IPv4", "ports": [{"name": "http", "port": ports[name]}],
                 "endpoints": [{"addresses": ["127.0.0.1"]}]}]

    return model.build(model.Inputs(ingresses() + (extra or []), service=service, slices=slices,
                                    secret=lambda ns, n: None))


@pytest.fixture
async def ingress(backends: dict[str, int], tmp_path: Path) -> AsyncIterator[tuple[NginxProcess, NginxSettings]]:
    nginx = NginxProcess(tmp_path / "ingress", user=worker_user())
    settings = NginxSettings(prefix=str(tmp_path / "ingress"), http_port=free_port(), https_port=free_port(),
                             bind_addresses=("127.0.0.1",), worker_processes="1", user=nginx.user,
                             temp_dir=str(nginx.temp_dir))
    conf, files = render(build_model(backends), settings)
    await nginx.apply(conf, files)
    await asyncio.to_thread(wait_port, settings.http_port)
    try:
        yield nginx, settings
    finally:
        await nginx.stop()


def get(settings: NginxSettings, host: str, path: str) -> str:
    req = urllib.request.Request(f"http://127.0.0.1:{settings.http_port}{path}", headers={"Host": host})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=5) as resp:
            return resp.read().decode().split()[0]
    except urllib.error.HTTPError as err:
        return str(err.code)


@pytest.mark.parametrize(("path", "want"), [
    ("/foo", "exact"),        # Exact beats the Prefix of the same path
    ("/foo/", "prefix"),      # element-wise: /foo matches /foo/ ...
    ("/foo/x", "prefix"),     # ... and /foo/x
    ("/foobar", "root"),      # ... but not /foobar
    ("/foo/bar", "deep"),     # the longest match wins; a trailing slash in the rule is ignored
    ("/foo/bar/baz", "deep"),
    ("/foo/barbaz", "prefix"),
    ("/FOO", "root"),         # paths are case-sensitive
    ("/impl/x", "deep"),      # ImplementationSpecific is treated as Prefix
    ("/implx", "root"),
])
async def test_paths_match_as_the_ingress_api_defines(ingress: Any, path: str, want: str) -> None:
    _, settings = ingress
    assert await asyncio.to_thread(get, settings, "h.example.test", path) == want


async def test_hosts_wildcards_and_unknown_hosts(ingress: Any) -> None:
    _, settings = ingress
    assert await asyncio.to_thread(get, settings, "a.wild.test", "/") == "wild"
    assert await asyncio.to_thread(get, settings, "exact.wild.test", "/") == "other"  # exact beats wildcard
    assert await asyncio.to_thread(get, settings, "a.b.wild.test", "/") == "404"  # one label only
    assert await asyncio.to_thread(get, settings, "H.EXAMPLE.TEST", "/foo") == "exact"  # hosts ignore case
    assert await asyncio.to_thread(get, settings, "nobody.test", "/") == "404"


async def test_a_reload_changes_routes_and_stop_ends_nginx(ingress: Any, backends: dict[str, int]) -> None:
    nginx, settings = ingress
    pid = nginx.pid
    extra = {"metadata": {"name": "late", "namespace": "ns", "creationTimestamp": "2026-02-01T00:00:00Z"},
             "spec": {"rules": [{"host": "late.example.test", "http": {"paths": [_path("/", "Prefix", "other")]}}]}}
    conf, files = render(build_model(backends, [extra]), settings)
    await nginx.apply(conf, files)
    assert nginx.pid == pid and nginx.reloads == 1  # the same master, reloaded by SIGHUP
    # For a moment both generations of workers accept connections (the old one until it has handled the
    # master's QUIT): wait until the new routes answer every time.
    streak = 0
    for _ in range(200):
        streak = streak + 1 if await asyncio.to_thread(get, settings, "late.example.test", "/") == "other" else 0
        if streak == 5:
            break
        await asyncio.sleep(0.02)
    assert streak == 5
    await nginx.stop()
    assert not nginx.alive()
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the master is gone (and reaped)
