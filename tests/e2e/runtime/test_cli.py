"""``pyk8s crictl`` and ``pyk8s images`` against the session's containerd, as a user runs them."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tomllib

import orjson
import pytest

from .conftest import Node

pytestmark = pytest.mark.containerd


def _pyk8s(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "pyk8s", *args], input=stdin, capture_output=True, timeout=60)


def test_crictl_pod_lifecycle(node: Node, tmp_path: pathlib.Path) -> None:
    crictl = ["crictl", "-r", node.endpoint, "--netns", node.netns]
    pod = tmp_path / "pod.yaml"
    pod.write_text(f"metadata: {{name: cli-pod, namespace: cli, uid: cli-uid}}\nhostname: cli-pod\nlog_directory: {tmp_path}/logs\n")
    ctr = tmp_path / "ctr.json"
    ctr.write_bytes(orjson.dumps({
        "metadata": {"name": "main"}, "image": {"image": "docker.io/library/busybox:1.36"},
        "command": ["sh", "-c", "echo from-cli; exec sleep 1000"], "log_path": "main/0.log",
    }))
    pod_id = _pyk8s(*crictl, "runp", str(pod)).stdout.decode().strip()
    try:
        assert len(pod_id) == 64
        cid = _pyk8s(*crictl, "create", pod_id, str(ctr), str(pod)).stdout.decode().strip()
        assert _pyk8s(*crictl, "start", cid).returncode == 0
        ps = _pyk8s(*crictl, "ps").stdout.decode().splitlines()
        assert ps[0].split()[:2] == ["CONTAINER", "IMAGE"]
        assert any(line.startswith(cid[:13]) and "Running" in line and "cli-pod" in line for line in ps[1:])
        pods = _pyk8s(*crictl, "pods").stdout.decode()
        assert pod_id[:13] in pods and "Ready" in pods
        assert _pyk8s(*crictl, "logs", cid).stdout == b"from-cli\n"
        sync = _pyk8s(*crictl, "exec", cid, "sh", "-c", "echo hi; exit 3")
        assert (sync.returncode, sync.stdout) == (3, b"hi\n")
        tty = _pyk8s(*crictl, "exec", "-it", cid, "sh", stdin=b"tty\nexit 4\n")
        assert tty.returncode == 4 and b"/dev/pts/" in tty.stdout
        inspect = orjson.loads(_pyk8s(*crictl, "inspect", cid).stdout)
        assert inspect[0]["status"]["state"] == "CONTAINER_RUNNING"
        images = _pyk8s(*crictl, "images").stdout.decode()
        assert "docker.io/library/busybox" in images and "1.36" in images
    finally:
        _pyk8s(*crictl, "stopp", pod_id)
        _pyk8s(*crictl, "rmp", pod_id)
    assert pod_id[:13] not in _pyk8s(*crictl, "pods").stdout.decode()


def test_images_mirrors_cli(tmp_path: pathlib.Path) -> None:
    result = _pyk8s("images", "mirrors", "--config-path", str(tmp_path / "certs.d"), "--mirror", "docker.io=http://127.0.0.1:5000")
    assert result.returncode == 0, result.stderr
    hosts = tomllib.loads((tmp_path / "certs.d" / "docker.io" / "hosts.toml").read_text())
    assert "http://127.0.0.1:5000" in hosts["host"]
