"""The managed containerd's config.toml is the default with exactly our changes."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import tomllib

import pytest

from pyk8s.kubelet.runtime.containerd import ContainerdPaths, render_config


@pytest.fixture(scope="module")
def default_config() -> str:
    if shutil.which("containerd") is None:
        pytest.skip("containerd is not installed")
    return subprocess.run(["containerd", "config", "default"], check=True, capture_output=True, text=True).stdout


def test_render_config(default_config: str, tmp_path: pathlib.Path) -> None:
    paths = ContainerdPaths(tmp_path)
    cfg = tomllib.loads(render_config(default_config, paths, sandbox_image="registry.k8s.io/pause:3.9"))
    assert cfg["root"] == str(tmp_path / "root") and cfg["state"] == str(tmp_path / "state")
    assert cfg["grpc"]["address"] == str(tmp_path / "containerd.sock")
    cri = cfg["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "registry.k8s.io/pause:3.9"
    assert cri["cni"]["bin_dir"] == "/usr/lib/cni" and cri["cni"]["conf_dir"] == str(tmp_path / "cni" / "net.d")
    assert cri["registry"]["config_path"] == str(tmp_path / "certs.d")
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["runtime_type"] == "io.containerd.runc.v2"
    assert runc["options"]["SystemdCgroup"] is False and runc["options"]["Root"] == str(tmp_path / "state" / "runc")
    assert cri["restrict_oom_score_adj"] is True
    # Everything else stays the default.
    untouched = tomllib.loads(default_config)
    assert cfg["plugins"]["io.containerd.gc.v1.scheduler"] == untouched["plugins"]["io.containerd.gc.v1.scheduler"]
    assert cri["containerd"]["snapshotter"] == "overlayfs"
