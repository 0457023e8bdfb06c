"""``pyk8s runtime --runtime process`` serves the fallback over CRI gRPC; ``pyk8s crictl`` drives it."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import orjson
import pytest

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri.client import CRIClient


def _crictl(endpoint: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "pyk8s", "crictl", "-r", endpoint, *args], capture_output=True, timeout=60)


@pytest.fixture
def process_endpoint(tmp_path: pathlib.Path):  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyk8s", "runtime", "--runtime", "process", "--data-dir", str(tmp_path / "rt")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        line = proc.stdout.readline().decode() if proc.stdout else ""  # waits for the "serving" line
        assert "serving CRI at unix://" in line, proc.stderr.read().decode() if proc.stderr else ""
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        assert b"NO isolation" in err  # the loud warning


def test_crictl_against_process_runtime(process_endpoint: str, tmp_path: pathlib.Path) -> None:
    version = _crictl(process_endpoint, "version").stdout.decode()
    assert "RuntimeName:  pyk8s-process" in version
    pod = tmp_path / "pod.json"
    pod.write_bytes(orjson.dumps({"metadata": {"name": "p", "namespace": "n", "uid": "u"}, "log_directory": str(tmp_path / "logs")}))
    ctr = tmp_path / "c.json"
    ctr.write_bytes(orjson.dumps({"metadata": {"name": "c"}, "image": {"image": "docker.io/library/busybox:1.36"},
                                  "command": ["sh", "-c", "echo up; exec sleep 1000"], "log_path": "c.log"}))
    pod_id = _crictl(process_endpoint, "runp", str(pod)).stdout.decode().strip()
    cid = _crictl(process_endpoint, "create", pod_id, str(ctr), str(pod)).stdout.decode().strip()
    assert _crictl(process_endpoint, "start", cid).returncode == 0
    for _ in range(50):
        if _crictl(process_endpoint, "logs", cid).stdout == b"up\n":
            break
        time.sleep(0.1)
    assert _crictl(process_endpoint, "logs", cid).stdout == b"up\n"
    result = _crictl(process_endpoint, "exec", cid, "sh", "-c", "echo hi; exit 6")
    assert (result.returncode, result.stdout) == (6, b"hi\n")
    assert cid[:13] in _crictl(process_endpoint, "ps").stdout.decode()
    missing = _crictl(process_endpoint, "inspect", "nope")
    assert missing.returncode == 1 and b"NotFoundError" in missing.stderr
    assert _crictl(process_endpoint, "stop", "-t", "1", cid).returncode == 0
    assert _crictl(process_endpoint, "rmp", pod_id).returncode == 0


async def test_cri_client_maps_process_errors(process_endpoint: str) -> None:
    client = CRIClient(process_endpoint)
    try:
        with pytest.raises(ri.ImageNotFoundError):
            await client.pull_image("docker.io/library/absent:1")
        with pytest.raises(ri.NotFoundError):
            await client.container_status("absent")
        assert (await client.status()).runtime_ready
    finally:
        await client.close()
