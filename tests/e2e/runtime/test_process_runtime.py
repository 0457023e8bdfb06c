"""The process fallback runtime: start, logs, exec, exit codes, stop timeout (no root needed)."""

from __future__ import annotations

import asyncio
import pathlib
import re
import shutil
import time
from collections.abc import AsyncIterator

import pytest

from pyk8s.kubelet.images import build
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.process import ProcessRuntime

from .pods import BUSYBOX, Pods

CRI_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] (.*)$")


def _read(path: str) -> str:
    return pathlib.Path(path).read_text()


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    if shutil.which("busybox") is None:
        pytest.skip("busybox is not installed")
    return build.unpack_busybox_rootfs(tmp_path_factory.mktemp("busybox-rootfs"))


@pytest.fixture
async def runtime(tmp_path: pathlib.Path, rootfs: pathlib.Path) -> AsyncIterator[ProcessRuntime]:
    rt = ProcessRuntime(tmp_path / "proc")
    rt.add_image(BUSYBOX, rootfs)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
async def pods(runtime: ProcessRuntime, tmp_path: pathlib.Path) -> AsyncIterator[Pods]:
    p = Pods(runtime, tmp_path / "logs")
    try:
        yield p
    finally:
        await p.cleanup()


async def test_start_logs_and_exec(runtime: ProcessRuntime, pods: Pods, rootfs: pathlib.Path) -> None:
    assert isinstance(runtime, ri.RuntimeService) and isinstance(runtime, ri.ImageService)
    sandbox = await pods.sandbox("proc")
    assert (await runtime.pod_sandbox_status(sandbox[0])).ip == "127.0.0.1"
    cid = await pods.container(sandbox, "main", ["sh", "-c", "echo hello; echo oops >&2; ls; exec sleep 1000"])
    status = await pods.wait_state(cid, ri.ContainerState.RUNNING)
    result = await runtime.exec_sync(cid, ["sh", "-c", "echo $HOSTNAME; ls bin/busybox; exit 5"], 5)
    assert (result.exit_code, result.stdout) == (5, b"proc\nbin/busybox\n")
    # The log is in the CRI format and the command ran inside the rootfs directory.
    for _ in range(100):
        if "oops" in _read(status.log_path):
            break
        await asyncio.sleep(0.05)
    lines = [CRI_LINE.match(line) for line in _read(status.log_path).splitlines()]
    assert all(lines)
    entries = {(m.group(1), m.group(2)) for m in lines if m}
    assert ("stdout", "hello") in entries and ("stderr", "oops") in entries and ("stdout", "bin") in entries
    stats = await runtime.container_stats(cid)
    assert stats.memory_working_set_bytes > 0


async def test_exit_codes(runtime: ProcessRuntime, pods: Pods) -> None:
    sandbox = await pods.sandbox("exits")
    fail = await pods.container(sandbox, "fail", ["sh", "-c", "exit 3"])
    ok = await pods.container(sandbox, "ok", ["true"])
    st = await pods.wait_state(fail, ri.ContainerState.EXITED)
    assert (st.exit_code, st.reason) == (3, "Error")
    st = await pods.wait_state(ok, ri.ContainerState.EXITED)
    assert (st.exit_code, st.reason) == (0, "Completed")


async def test_stop_timeout_kills(runtime: ProcessRuntime, pods: Pods) -> None:
    sandbox = await pods.sandbox("stop")
    # An ignored SIGTERM is inherited across exec: only SIGKILL ends this one.
    cid = await pods.container(sandbox, "stubborn", ["sh", "-c", "trap '' TERM; sleep 1000"])
    polite = await pods.container(sandbox, "polite", ["sleep", "1000"])
    await pods.wait_state(cid, ri.ContainerState.RUNNING)
    started = time.monotonic()
    await runtime.stop_container(cid, 1)
    elapsed = time.monotonic() - started
    st = await runtime.container_status(cid)
    assert st.state == ri.ContainerState.EXITED and st.exit_code == 137
    assert 0.9 <= elapsed <= 2.5, elapsed
    started = time.monotonic()
    await runtime.stop_container(polite, 10)
    assert time.monotonic() - started < 2
    assert (await runtime.container_status(polite)).exit_code == 143


async def test_unknown_image_is_not_found(runtime: ProcessRuntime) -> None:
    with pytest.raises(ri.ImageNotFoundError):
        await runtime.pull_image("docker.io/library/missing:1")
    assert await runtime.image_status(BUSYBOX) is not None
