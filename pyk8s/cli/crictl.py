"""``pyk8s crictl``: a debugging CLI for CRI runtimes, shaped like upstream crictl.

Subcommands: version, info, pods, ps [-a], images, pull, rmi, runp, create,
start, stop, rm, stopp, rmp, inspect, inspectp, logs [-f], exec [-it], stats.
``runp``/``create`` read crictl's pod-config and container-config files (JSON
or YAML, snake_case CRI field names).  Tables follow crictl's columns and
truncate IDs to 13 characters.

The endpoint comes from ``--runtime-endpoint`` (or $CONTAINER_RUNTIME_ENDPOINT).
``--netns`` names the network namespace the runtime's streaming server lives in
(for exec -it against a containerd run with ``pyk8s runtime --netns``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import pathlib
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
import yaml

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri import streaming
from pyk8s.kubelet.runtime.cri.client import CRIClient

Handler = Callable[[CRIClient, argparse.Namespace], Coroutine[Any, Any, int]]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("crictl", help="talk to a CRI runtime (like crictl)")
    p.add_argument("--runtime-endpoint", "-r", default=os.environ.get("CONTAINER_RUNTIME_ENDPOINT", ""))
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--netns", default=None, help="network namespace of the runtime's streaming server")
    sub = p.add_subparsers(dest="crictl_command", metavar="COMMAND", required=True)
    simple = {"version": _version, "info": _info, "images": _images, "stats": _stats}
    for name, fn in simple.items():
        sub.add_parser(name).set_defaults(handler=fn)
    ps = sub.add_parser("ps")
    ps.add_argument("-a", "--all", action="store_true")
    ps.add_argument("-p", "--pod", default="")
    ps.set_defaults(handler=_ps)
    sub.add_parser("pods").set_defaults(handler=_pods)
    for name, fn in {"pull": _pull, "rmi": _rmi}.items():
        sp = sub.add_parser(name)
        sp.add_argument("image")
        sp.set_defaults(handler=fn)
    runp = sub.add_parser("runp")
    runp.add_argument("pod_config", type=pathlib.Path)
    runp.set_defaults(handler=_runp)
    create = sub.add_parser("create")
    create.add_argument("pod_id")
    create.add_argument("container_config", type=pathlib.Path)
    create.add_argument("pod_config", type=pathlib.Path)
    create.set_defaults(handler=_create)
    for name, fn in {"start": _start, "rm": _rm, "stopp": _stopp, "rmp": _rmp, "inspect": _inspect, "inspectp": _inspectp}.items():
        sp = sub.add_parser(name)
        sp.add_argument("ids", nargs="+")
        sp.set_defaults(handler=fn)
    stop = sub.add_parser("stop")
    stop.add_argument("-t", "--timeout", dest="grace", type=int, default=10)
    stop.add_argument("ids", nargs="+")
    stop.set_defaults(handler=_stop)
    logs = sub.add_parser("logs")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("id")
    logs.set_defaults(handler=_logs)
    ex = sub.add_parser("exec")
    ex.add_argument("-i", "--interactive", action="store_true")
    ex.add_argument("-t", "--tty", action="store_true")
    ex.add_argument("-s", "--sync", action="store_true")
    ex.add_argument("id")
    ex.add_argument("cmd", nargs=argparse.REMAINDER)
    ex.set_defaults(handler=_exec)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.runtime_endpoint:
        print("crictl: --runtime-endpoint (or CONTAINER_RUNTIME_ENDPOINT) is required", file=sys.stderr)
        return 2
    return asyncio.run(_dispatch(args))


async def _dispatch(args: argparse.Namespace) -> int:
    client = CRIClient(args.runtime_endpoint, timeout=args.timeout)
    try:
        return await args.handler(client, args)
    except ri.RuntimeServiceError as err:
        print(f"crictl: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    finally:
        await client.close()


# ---------------------------------------------------------------------------- formatting


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        print("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _ago(ns: int) -> str:
    seconds = max(0, int(time.time() - ns / 1e9))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "Less than a second ago" if seconds < 1 else f"{seconds} seconds ago"


def _state(value: str) -> str:
    return {"SANDBOX_READY": "Ready", "SANDBOX_NOTREADY": "NotReady"}.get(value, value.removeprefix("CONTAINER_").title())


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.3g}{unit}" if unit != "B" else f"{n}B"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def _json(obj: object) -> None:
    def default(o: object) -> object:
        if dataclasses.is_dataclass(o):
            return dataclasses.asdict(o)  # type: ignore[arg-type]
        raise TypeError
    print(orjson.dumps(obj, default=default, option=orjson.OPT_INDENT_2).decode())


# ---------------------------------------------------------------------------- config files


def _load(path: pathlib.Path) -> dict[str, Any]:
    text = path.read_text()
    data = orjson.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: expected an object")
    return data


def pod_config_from_dict(d: dict[str, Any]) -> ri.PodSandboxConfig:
    md = d.get("metadata") or {}
    linux = d.get("linux") or {}
    ns_opts = ((linux.get("security_context") or {}).get("namespace_options") or {})
    dns = d.get("dns_config")
    return ri.PodSandboxConfig(
        metadata=ri.PodSandboxMetadata(
            name=md.get("name", ""), namespace=md.get("namespace", "default"), uid=md.get("uid", ""),
            attempt=int(md.get("attempt", 0)),
        ),
        hostname=d.get("hostname", ""), log_directory=d.get("log_directory", ""),
        dns=ri.DNSConfig(dns.get("servers", []), dns.get("searches", []), dns.get("options", [])) if dns else None,
        port_mappings=[
            ri.PortMapping(container_port=int(p.get("container_port", 0)), host_port=int(p.get("host_port", 0)),
                           protocol=str(p.get("protocol", "TCP")), host_ip=p.get("host_ip", ""))
            for p in d.get("port_mappings") or []
        ],
        labels=d.get("labels") or {}, annotations=d.get("annotations") or {},
        cgroup_parent=linux.get("cgroup_parent", ""), host_network=ns_opts.get("network") in (2, "NODE"),
    )


def container_config_from_dict(d: dict[str, Any]) -> ri.ContainerConfig:
    md = d.get("metadata") or {}
    image = d.get("image") or {}
    linux = d.get("linux") or {}
    res = linux.get("resources")
    resources = None
    if res:
        resources = ri.LinuxResources(
            cpu_period=int(res.get("cpu_period", 0)), cpu_quota=int(res.get("cpu_quota", 0)),
            cpu_shares=int(res.get("cpu_shares", 0)), memory_limit_in_bytes=int(res.get("memory_limit_in_bytes", 0)),
            oom_score_adj=int(res.get("oom_score_adj", 0)),
        )
    return ri.ContainerConfig(
        metadata=ri.ContainerMetadata(name=md.get("name", ""), attempt=int(md.get("attempt", 0))),
        image=image.get("image", "") if isinstance(image, dict) else str(image),
        command=d.get("command") or [], args=d.get("args") or [], working_dir=d.get("working_dir", ""),
        envs={e["key"]: e.get("value", "") for e in d.get("envs") or []},
        mounts=[ri.Mount(m["container_path"], m.get("host_path", ""), bool(m.get("readonly"))) for m in d.get("mounts") or []],
        labels=d.get("labels") or {}, annotations=d.get("annotations") or {}, log_path=d.get("log_path", ""),
        stdin=bool(d.get("stdin")), stdin_once=bool(d.get("stdin_once")), tty=bool(d.get("tty")), resources=resources,
    )


# ---------------------------------------------------------------------------- commands


async def _version(c: CRIClient, args: argparse.Namespace) -> int:
    v = await c.version()
    print(f"Version:  {v.version}\nRuntimeName:  {v.runtime_name}\nRuntimeVersion:  {v.runtime_version}\nRuntimeApiVersion:  {v.runtime_api_version}")
    return 0


async def _info(c: CRIClient, args: argparse.Namespace) -> int:
    st = await c.status(verbose=True)
    info: dict[str, Any] = {"status": {"conditions": [dataclasses.asdict(x) for x in st.conditions]}}
    for key, value in st.info.items():
        try:
            info[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            info[key] = value
    _json(info)
    return 0


async def _pods(c: CRIClient, args: argparse.Namespace) -> int:
    rows = [
        [s.id[:13], _ago(s.created_at), _state(s.state), s.metadata.name, s.metadata.namespace,
         str(s.metadata.attempt), s.runtime_handler or "(default)"]
        for s in sorted(await c.list_pod_sandbox(), key=lambda s: -s.created_at)
    ]
    _table(["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"], rows)
    return 0


async def _ps(c: CRIClient, args: argparse.Namespace) -> int:
    f = ri.ContainerFilter(pod_sandbox_id=args.pod, state=None if args.all else ri.ContainerState.RUNNING)
    pods = {s.id: s.metadata.name for s in await c.list_pod_sandbox()}
    rows = [
        [x.id[:13], x.image_ref[7:20] if x.image_ref.startswith("sha256:") else x.image, _ago(x.created_at),
         _state(x.state), x.metadata.name, str(x.metadata.attempt), x.pod_sandbox_id[:13], pods.get(x.pod_sandbox_id, "")]
        for x in sorted(await c.list_containers(f), key=lambda x: -x.created_at)
    ]
    _table(["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD"], rows)
    return 0


async def _images(c: CRIClient, args: argparse.Namespace) -> int:
    rows = []
    for img in await c.list_images():
        for tag in img.repo_tags or ["<none>:<none>"]:
            repo, _, version = tag.rpartition(":")
            rows.append([repo, version, img.id.removeprefix("sha256:")[:13], _size(img.size)])
    _table(["IMAGE", "TAG", "IMAGE ID", "SIZE"], sorted(rows))
    return 0


async def _pull(c: CRIClient, args: argparse.Namespace) -> int:
    print(f"Image is up to date for {await c.pull_image(args.image)}")
    return 0


async def _rmi(c: CRIClient, args: argparse.Namespace) -> int:
    await c.remove_image(args.image)
    print(f"Deleted: {args.image}")
    return 0


async def _runp(c: CRIClient, args: argparse.Namespace) -> int:
    print(await c.run_pod_sandbox(pod_config_from_dict(_load(args.pod_config))))
    return 0


async def _create(c: CRIClient, args: argparse.Namespace) -> int:
    cfg = container_config_from_dict(_load(args.container_config))
    print(await c.create_container(args.pod_id, cfg, pod_config_from_dict(_load(args.pod_config))))
    return 0


async def _each(ids: list[str], fn: Callable[[str], Coroutine[Any, Any, None]]) -> int:
    for one in ids:
        await fn(one)
        print(one)
    return 0


async def _start(c: CRIClient, args: argparse.Namespace) -> int:
    return await _each(args.ids, c.start_container)


async def _stop(c: CRIClient, args: argparse.Namespace) -> int:
    return await _each(args.ids, lambda i: c.stop_container(i, args.grace))


async def _rm(c: CRIClient, args: argparse.Namespace) -> int:
    return await _each(args.ids, c.remove_container)


async def _stopp(c: CRIClient, args: argparse.Namespace) -> int:
    for one in args.ids:
        await c.stop_pod_sandbox(one)
        print(f"Stopped sandbox {one}")
    return 0


async def _rmp(c: CRIClient, args: argparse.Namespace) -> int:
    for one in args.ids:
        await c.remove_pod_sandbox(one)
        print(f"Removed sandbox {one}")
    return 0


async def _inspect(c: CRIClient, args: argparse.Namespace) -> int:
    _json([{"status": await c.container_status(i, verbose=True)} for i in args.ids])
    return 0


async def _inspectp(c: CRIClient, args: argparse.Namespace) -> int:
    _json([{"status": await c.pod_sandbox_status(i)} for i in args.ids])
    return 0


async def _stats(c: CRIClient, args: argparse.Namespace) -> int:
    names = {x.id: x.metadata.name for x in await c.list_containers()}
    rows = [
        [s.id[:13], names.get(s.id, s.name), f"{s.cpu_usage_nano_cores / 1e7:.2f}", _size(s.memory_working_set_bytes)]
        for s in await c.list_container_stats()
    ]
    _table(["CONTAINER", "NAME", "CPU %", "MEM"], rows)
    return 0


def _print_log_line(line: bytes) -> None:
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 4:
        return
    out = sys.stderr.buffer if parts[1] == b"stderr" else sys.stdout.buffer
    out.write(parts[3] + (b"\n" if parts[2] == b"F" else b""))
    out.flush()


async def _logs(c: CRIClient, args: argparse.Namespace) -> int:
    status = await c.container_status(args.id)
    with open(status.log_path, "rb") as f:  # noqa: ASYNC230 - a local file read by a CLI
        while True:
            line = f.readline()
            if line:
                _print_log_line(line)
                continue
            if not args.follow or (await c.container_status(args.id)).state != ri.ContainerState.RUNNING:
                return 0
            await asyncio.sleep(0.2)


async def _exec(c: CRIClient, args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if args.sync or not (args.interactive or args.tty):
        result = await c.exec_sync(args.id, cmd)
        sys.stdout.buffer.write(result.stdout)
        sys.stderr.buffer.write(result.stderr)
        return result.exit_code
    url = await c.exec(ri.ExecRequest(args.id, cmd, tty=args.tty, stdin=args.interactive, stderr=not args.tty))
    return await _interactive(url, args)


def _read_all(fd: int, loop: asyncio.AbstractEventLoop, chunks: asyncio.Queue[bytes]) -> None:
    while True:
        data = os.read(fd, 4096)
        loop.call_soon_threadsafe(chunks.put_nowait, data)
        if not data:
            return


async def _interactive(url: str, args: argparse.Namespace) -> int:
    ws = await streaming.WebSocketStream.open(url, netns=args.netns)
    loop = asyncio.get_running_loop()
    saved = None
    fd = sys.stdin.fileno()
    if args.tty and os.isatty(fd):
        saved = termios.tcgetattr(fd)
        tty.setraw(fd)
        size = os.get_terminal_size(fd)
        await ws.resize(size.columns, size.lines)
    chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def on_stdin() -> None:
        data = os.read(fd, 4096)
        chunks.put_nowait(data)
        if not data:  # EOF: v4.channel.k8s.io cannot signal it, so just stop reading
            loop.remove_reader(fd)

    async def pump() -> None:
        while data := await chunks.get():
            await ws.send(streaming.STDIN, data)

    sender = None
    if args.interactive:
        try:
            loop.add_reader(fd, on_stdin)
        except PermissionError:  # regular files and /dev/null cannot be polled: read them in a daemon thread
            threading.Thread(target=_read_all, args=(fd, loop, chunks), daemon=True).start()
        sender = asyncio.create_task(pump())
    status: dict[str, Any] = {}
    try:
        while (msg := await ws.recv()) is not None:
            channel, data = msg
            if channel == streaming.ERROR and data:
                status = orjson.loads(data)
            elif channel in (streaming.STDOUT, streaming.STDERR):
                out = sys.stdout.buffer if channel == streaming.STDOUT else sys.stderr.buffer
                out.write(data)
                out.flush()
    finally:
        if sender is not None:
            loop.remove_reader(fd)  # a no-op when the thread reads instead
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        await ws.close()
    return streaming.exit_code_from_status(status) if status else 0
