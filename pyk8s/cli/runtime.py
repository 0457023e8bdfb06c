"""``pyk8s runtime``: run pyk8s's own containerd (or the process runtime) in the foreground.

``--runtime process`` serves the process fallback (no isolation!) over the
same CRI gRPC API on ``DATA_DIR/process.sock`` instead, with the busybox rootfs
unpacked under ``DATA_DIR/rootfs/busybox`` as ``docker.io/library/busybox``.

Builds the offline pause and busybox images into ``DATA_DIR/images`` (the
auto-import directory) when missing, writes the CNI config for ``--pod-cidr``
and the registry mirrors, starts (or re-attaches to) containerd, prints its CRI
endpoint and waits.  Ctrl-C stops containerd (shims keep containers running;
the next start finds them again) unless ``--leave-running`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import signal
import sys

from pyk8s.kubelet.images import build, mirrors
from pyk8s.kubelet.runtime.containerd import ManagedContainerd
from pyk8s.kubelet.runtime.cri import server as cri_server
from pyk8s.kubelet.runtime.process import ProcessRuntime


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("runtime", help="run pyk8s's managed containerd in the foreground")
    p.add_argument("--runtime", choices=["containerd", "process"], default="containerd")
    p.add_argument("--data-dir", required=True, type=pathlib.Path, help="root of everything this containerd owns")
    p.add_argument("--pod-cidr", default="", help="the node's pod CIDR for the CNI bridge, e.g. 10.244.0.0/24")
    p.add_argument("--netns", default=None, help="run containerd inside this network namespace (a path)")
    p.add_argument("--registries", type=pathlib.Path, default=None, help="k3s-style registries.yaml with mirrors")
    p.add_argument("--insecure", action="store_true", help="skip TLS verification for mirror endpoints")
    p.add_argument("--no-build-images", action="store_true", help="do not build the offline pause/busybox images")
    p.add_argument("--leave-running", action="store_true", help="leave containerd running on exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _run_process(args: argparse.Namespace) -> int:
    data_dir = args.data_dir.resolve()
    runtime = ProcessRuntime(data_dir)
    rootfs = build.unpack_busybox_rootfs(data_dir / "rootfs" / "busybox")
    for tag in ("1.36", "latest"):
        runtime.add_image(f"{build.BUSYBOX}:{tag}", rootfs)
    socket_path = data_dir / "process.sock"
    server = await cri_server.serve(runtime, socket_path)
    print(f"process runtime (NO isolation) serving CRI at unix://{socket_path}", flush=True)
    try:
        await _wait_for_signal()
    finally:
        await server.stop(1)
        await runtime.close()
    return 0


async def _run(args: argparse.Namespace) -> int:
    if args.runtime == "process":
        return await _run_process(args)
    manager = ManagedContainerd(args.data_dir, pod_cidr=args.pod_cidr or None, netns=args.netns)
    if not args.no_build_images:
        build.build_images(manager.paths.auto_import_dir, ["pause", "busybox"])
    if args.registries is not None:
        mirrors.write_hosts_dir(manager.paths.certs_dir, mirrors.load_registries_yaml(args.registries), insecure=args.insecure)
    await manager.start()
    print(f"containerd pid {manager.pid} serving CRI at {manager.endpoint}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            if manager.running_pid() is None:
                print(f"containerd exited; see {manager.paths.logfile}", file=sys.stderr)
                return 1
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
    finally:
        if not args.leave_running:
            await manager.stop()
    return 0
