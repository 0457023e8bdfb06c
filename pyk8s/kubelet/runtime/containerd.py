"""pyk8s's own containerd: config, start, supervision, re-attachment.

Every path lives under one data directory, so several instances (one per
simulated node, plus any system containerd) run side by side untouched:

* ``config.toml`` — ``containerd config default`` with our changes: root,
  state, the gRPC socket, ``sandbox_image`` = our offline pause image, CNI
  ``bin_dir`` /usr/lib/cni and ``conf_dir`` under the data dir, runc with
  cgroupfs (``SystemdCgroup = false``; this machine has cgroup v1 and no
  systemd) and its own runc root, netns files under the state dir, and
  ``registry.config_path`` for hosts.toml mirrors;
* ``containerd.pid`` / ``containerd.log``.

containerd is started in its own session, so it (and the shims, which outlive
it anyway) survive our process: ``start()`` first looks for a live instance
from the pid file and re-attaches; ``stop()`` ends it by PID.  Containers are
never touched by either.  ``netns`` runs containerd inside a network namespace
(``nsenter --net=``, not ``ip netns exec``, which would remount /sys): its CNI
bridge and streaming server then live there.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import re
import signal
import subprocess
import time
from dataclasses import dataclass

from pyk8s.kubelet.images import build
from pyk8s.kubelet.network import cni

log = logging.getLogger(__name__)

CNI_BIN_DIR = "/usr/lib/cni"


@dataclass
class ContainerdPaths:
    data_dir: pathlib.Path

    @property
    def root(self) -> pathlib.Path:
        return self.data_dir / "root"

    @property
    def state(self) -> pathlib.Path:
        return self.data_dir / "state"

    @property
    def socket(self) -> pathlib.Path:
        return self.data_dir / "containerd.sock"

    @property
    def config(self) -> pathlib.Path:
        return self.data_dir / "config.toml"

    @property
    def pidfile(self) -> pathlib.Path:
        return self.data_dir / "containerd.pid"

    @property
    def logfile(self) -> pathlib.Path:
        return self.data_dir / "containerd.log"

    @property
    def cni_conf_dir(self) -> pathlib.Path:
        return self.data_dir / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> pathlib.Path:
        return self.data_dir / "cni" / "ipam"

    @property
    def certs_dir(self) -> pathlib.Path:
        return self.data_dir / "certs.d"

    @property
    def auto_import_dir(self) -> pathlib.Path:
        """Tarballs placed here are imported at every start (like k3s's agent/images)."""
        return self.data_dir / "images"

    @property
    def endpoint(self) -> str:
        return f"unix://{self.socket}"


def _set_in_section(text: str, section: str, key: str, value: str) -> str:
    """Sets ``key = value`` in the TOML table ``[section]`` (which must exist and hold the key)."""
    header = f"[{section}]"
    found = re.compile(rf"^[ \t]*{re.escape(header)}[ \t]*$", re.M).search(text)
    if found is None:
        raise ValueError(f"section {header} not in default config")
    body_start = found.end() + 1
    nxt = re.compile(r"^\s*\[", re.M).search(text, body_start)
    body_end = nxt.start() if nxt else len(text)
    body = text[body_start:body_end]
    pattern = re.compile(rf"^(\s*){re.escape(key)} = .*$", re.M)
    if not pattern.search(body):
        raise ValueError(f"{key} not in {header}")
    body = pattern.sub(lambda m: f"{m.group(1)}{key} = {value}", body, count=1)
    return text[:body_start] + body + text[body_end:]


def _q(value: str | pathlib.Path) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(default: str, paths: ContainerdPaths, *, sandbox_image: str = build.PAUSE_REF) -> str:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    text = "\n" + default
    text = re.sub(r'^root = .*$', f"root = {_q(paths.root)}", text, count=1, flags=re.M)
    text = re.sub(r'^state = .*$', f"state = {_q(paths.state)}", text, count=1, flags=re.M)
    edits = [
        ("grpc", "address", _q(paths.socket)),
        (cri, "sandbox_image", _q(sandbox_image)),
        (cri, "netns_mounts_under_state_dir", "true"),
        # This machine forbids lowering oom_score_adj below our own; runc would fail on -998.
        (cri, "restrict_oom_score_adj", "true"),
        (cri, "stream_server_address", _q("127.0.0.1")),
        (f"{cri}.cni", "bin_dir", _q(CNI_BIN_DIR)),
        (f"{cri}.cni", "conf_dir", _q(paths.cni_conf_dir)),
        (f"{cri}.containerd.runtimes.runc.options", "SystemdCgroup", "false"),
        (f"{cri}.containerd.runtimes.runc.options", "Root", _q(paths.state / "runc")),
        (f"{cri}.registry", "config_path", _q(paths.certs_dir)),
        ('plugins."io.containerd.internal.v1.opt"', "path", _q(paths.data_dir / "opt")),
    ]
    for section, key, value in edits:
        text = _set_in_section(text, section, key, value)
    return text.lstrip("\n")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own exited child) counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class ManagedContainerd:
    """One containerd instance owned by pyk8s; ``endpoint`` is its CRI socket URL."""

    def __init__(
        self, data_dir: pathlib.Path, *, pod_cidr: str | None = None, netns: str | None = None,
        sandbox_image: str = build.PAUSE_REF,
    ) -> None:
        self.paths = ContainerdPaths(pathlib.Path(data_dir).resolve())
        self.pod_cidr = pod_cidr
        self.netns = netns
        self.sandbox_image = sandbox_image
        self.pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return self.paths.endpoint

    def write_config(self) -> None:
        p = self.paths
        for d in (p.root, p.state, p.cni_conf_dir, p.cni_ipam_dir, p.certs_dir, p.auto_import_dir):
            d.mkdir(parents=True, exist_ok=True)
        default = subprocess.run(["containerd", "config", "default"], check=True, capture_output=True, text=True).stdout
        p.config.write_text(render_config(default, p, sandbox_image=self.sandbox_image))
        if self.pod_cidr:
            cni.write_cni_config(p.cni_conf_dir, self.pod_cidr, ipam_dir=str(p.cni_ipam_dir))

    def running_pid(self) -> int | None:
        try:
            pid = int(self.paths.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    async def start(self, wait_s: float = 20.0) -> None:
        """Re-attaches to a live instance from the pid file, or starts a new one; then auto-imports images."""
        self.pid = self.running_pid()
        if self.pid is None:
            self.write_config()
            self._spawn()
        elif self.pod_cidr:
            cni.write_cni_config(self.paths.cni_conf_dir, self.pod_cidr, ipam_dir=str(self.paths.cni_ipam_dir))
        await self._wait_ready(wait_s)
        await self.auto_import()

    def _spawn(self) -> None:
        cmd = ["containerd", "--config", str(self.paths.config)]
        if self.netns:
            cmd = ["nsenter", f"--net={self.netns}", "--", *cmd]
        self.paths.socket.unlink(missing_ok=True)
        with open(self.paths.logfile, "ab") as logf:
            # Own session: survives our exit and our terminal's signals.
            self._proc = subprocess.Popen(cmd, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self._proc.pid
        self.paths.pidfile.write_text(str(self.pid))
        log.info("started containerd pid %d at %s", self.pid, self.endpoint)

    async def _wait_ready(self, wait_s: float) -> None:
        from pyk8s.kubelet.runtime.cri.client import CRIClient

        deadline = time.monotonic() + wait_s
        while True:
            if self.pid is None or not _pid_alive(self.pid):
                raise RuntimeError(f"containerd exited; see {self.paths.logfile}")
            if self.paths.socket.exists():
                client = CRIClient(self.endpoint, timeout=2.0)
                try:
                    await client.version()
                    return
                except Exception:  # noqa: BLE001 - not ready yet
                    pass
                finally:
                    await client.close()
            if time.monotonic() > deadline:
                raise TimeoutError(f"containerd not ready after {wait_s}s; see {self.paths.logfile}")
            await asyncio.sleep(0.05)

    async def auto_import(self) -> list[pathlib.Path]:
        tarballs = sorted(self.paths.auto_import_dir.glob("*.tar"))
        for tarball in tarballs:
            await import_archive(self.paths.socket, tarball)
        return tarballs

    async def stop(self, grace_s: float = 10.0) -> None:
        """Ends containerd by PID (SIGTERM, then SIGKILL).  Shims and containers are not touched."""
        pid = self.running_pid() or self.pid
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + grace_s
        while _pid_alive(pid) and time.monotonic() < deadline:  # noqa: ASYNC110 - polling another process
            await asyncio.sleep(0.05)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        if self._proc is not None:
            await asyncio.to_thread(self._proc.wait)
            self._proc = None
        self.paths.pidfile.unlink(missing_ok=True)
        self.pid = None


async def import_archive(socket: pathlib.Path | str, tarball: pathlib.Path | str, namespace: str = "k8s.io") -> str:
    """Imports an OCI or docker-archive tarball into containerd (the air-gapped path); returns ctr's output."""
    proc = await asyncio.create_subprocess_exec(
        "ctr", "--address", str(socket), "-n", namespace, "images", "import", str(tarball),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"ctr images import {tarball} failed: {err.decode(errors='replace').strip()}")
    return out.decode(errors="replace")
