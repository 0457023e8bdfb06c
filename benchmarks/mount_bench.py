"""A tmpfs mount and unmount the way the kubelet makes one per secret/projected/Memory volume of a pod.

Compares ``mount -t tmpfs``/``umount`` processes (what the kubelet ran before)
with mount(2)/umount2(2) through ``pyk8s.util.mount`` (what it runs now), in
the same run: CPU-seconds (this process and its children) and wall time per
mount+unmount pair, and their ratio.  Needs root; mounts only in a temporary
directory, removed at the end.

    sudo .venv/bin/python benchmarks/mount_bench.py [--pairs 200]

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import resource
import tempfile
import time

from pyk8s.util import mount as mountutil


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def _run(*cmd: str) -> None:
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)}: {err.decode().strip()}")


async def _processes(target: pathlib.Path, pairs: int) -> None:
    for _ in range(pairs):
        await _run("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(target))
        await _run("umount", str(target))


def _syscalls(target: pathlib.Path, pairs: int) -> None:
    for _ in range(pairs):
        mountutil.mount_tmpfs(target, mode=0o755)
        mountutil.umount(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("mounting needs root")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        target = pathlib.Path(tmp) / "t"
        target.mkdir()
        c0, w0 = _cpu(), time.monotonic()
        asyncio.run(_processes(target, args.pairs))
        c1, w1 = _cpu(), time.monotonic()
        _syscalls(target, args.pairs)
        c2, w2 = _cpu(), time.monotonic()
    old_cpu, new_cpu = (c1 - c0) / args.pairs * 1e3, (c2 - c1) / args.pairs * 1e3
    print(f"mount(8)+umount(8) processes: {old_cpu:.2f} ms CPU, {(w1 - w0) / args.pairs * 1e3:.2f} ms wall a pair")
    print(f"mount(2)+umount2(2):          {new_cpu:.3f} ms CPU, {(w2 - w1) / args.pairs * 1e3:.3f} ms wall a pair"
          f"   (x{old_cpu / max(new_cpu, 1e-6):.0f} less CPU)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
