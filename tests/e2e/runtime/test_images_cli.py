"""``pyk8s images``: a no-op rebuild, and the registry command serving every reference until SIGTERM."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request

import pytest

from pyk8s.kubelet.images import build, catalog

from .conftest import IMAGE_CACHE

pytestmark = pytest.mark.containerd

PYK8S = [sys.executable, "-m", "pyk8s"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_build_again_changes_nothing(built_images: dict[str, build.BuiltImage]) -> None:
    out = subprocess.run([*PYK8S, "images", "build", "--out", str(IMAGE_CACHE)], capture_output=True, text=True,
                         check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    assert {row[0] for row in rows} == set(catalog.NAMES)
    assert all(row[1] == "up to date" for row in rows), out
    assert all(row[4] == built_images[row[0]].source for row in rows)


def test_registry_command_serves_every_reference_and_stops_on_sigterm(
    built_images: dict[str, build.BuiltImage], tmp_path: pathlib.Path
) -> None:
    port = _free_port()
    hosts = tmp_path / "certs.d"
    cmd = [*PYK8S, "images", "registry", "--data-dir", str(tmp_path), "--port", str(port),
           "--images-dir", str(IMAGE_CACHE), "--hosts-dir", str(hosts)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pidfile = tmp_path / "registry" / "registry.pid"
    try:
        deadline = time.monotonic() + 120
        while not (hosts / "docker.io" / "hosts.toml").exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the registry did not publish the images"
            time.sleep(0.2)
        registry_pid = int(pidfile.read_text())
        for host in catalog.mirrored_hosts():
            config = tomllib.loads((hosts / host / "hosts.toml").read_text())
            assert config["server"] == f"http://127.0.0.1:{port}" and list(config["host"]) == [config["server"]]
        for name, image in built_images.items():
            for ref in image.refs:
                path, _, tag = catalog.registry_path(ref).rpartition(":")
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v2/{path}/manifests/{tag}", method="HEAD",
                    headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert response.headers["Docker-Content-Digest"] == image.digest, (name, ref)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/_catalog", timeout=5) as response:
            assert "library/nginx" in json.load(response)["repositories"]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(30)
        if pidfile.exists():  # the command failed to stop its registry: do not leave it behind
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
    assert code == 0
    assert not pidfile.exists() and not pathlib.Path(f"/proc/{registry_pid}").exists()
