"""What the eviction signals observe on this machine (upstream's ``makeSignalObservations`` over its stats).

* ``memory.available`` = capacity - working set, with the node's working set
  as upstream computes it for the root cgroup: usage minus inactive file
  pages.  The root cgroup has no usage file under cgroup v2, so usage is
  ``MemTotal - MemFree`` from ``/proc/meminfo`` (what cAdvisor reports for
  the root), and inactive file pages are ``Inactive(file)``.
* ``nodefs.*``: the filesystem of the kubelet's root directory
  (``statvfs``: blocks available to unprivileged users, free inodes).
* ``imagefs.*``: the runtime's image filesystem (``ImageFsInfo``), the
  node filesystem when the runtime names none.
* ``pid.available`` = min(``kernel.pid_max``, ``kernel.threads-max``) - the
  processes running (entries of ``/proc``).
"""

from __future__ import annotations

import os
import pathlib

from pyk8s.kubelet.eviction import thresholds as th
from pyk8s.kubelet.runtime import interface as ri


def meminfo(path: str = "/proc/meminfo") -> dict[str, int]:
    """``/proc/meminfo`` in bytes."""
    out = {}
    with open(path) as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                out[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return out


def memory(info: dict[str, int]) -> th.Observation:
    capacity = info.get("MemTotal", 0)
    usage = capacity - info.get("MemFree", 0)
    working_set = max(0, usage - info.get("Inactive(file)", 0))
    return th.Observation(available=capacity - working_set, capacity=capacity)


def filesystem(path: str) -> tuple[th.Observation, th.Observation] | None:
    """(bytes, inodes) of the filesystem holding ``path``."""
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return (th.Observation(st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize),
            th.Observation(st.f_ffree, st.f_files))


def _read_int(path: str) -> int | None:
    try:
        return int(pathlib.Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def pids(proc: str = "/proc") -> th.Observation | None:
    limits = [v for v in (_read_int(f"{proc}/sys/kernel/pid_max"), _read_int(f"{proc}/sys/kernel/threads-max"))
              if v is not None]
    if not limits:
        return None
    running = sum(1 for name in os.listdir(proc) if name.isdigit())
    return th.Observation(available=min(limits) - running, capacity=min(limits))


async def observe(root_dir: pathlib.Path, images: ri.ImageService | None) -> th.Observations:
    """Every signal's observation now (the file reads are small; statvfs does not block on local disks)."""
    out: th.Observations = {th.MEMORY_AVAILABLE: memory(meminfo())}
    node_fs = filesystem(str(root_dir))
    if node_fs is not None:
        out[th.NODEFS_AVAILABLE], out[th.NODEFS_INODES_FREE] = node_fs
    image_fs = None
    if images is not None:
        try:
            mounts = [fs.mountpoint for fs in await images.image_fs_info() if fs.mountpoint]
        except ri.RuntimeServiceError:
            mounts = []
        image_fs = filesystem(mounts[0]) if mounts else None
    image_fs = image_fs or node_fs
    if image_fs is not None:
        out[th.IMAGEFS_AVAILABLE], out[th.IMAGEFS_INODES_FREE] = image_fs
    if (pid := pids()) is not None:
        out[th.PID_AVAILABLE] = pid
    return out
