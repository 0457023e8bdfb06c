"""Lifecycle hooks (postStart, preStop): exec, httpGet and sleep (upstream ``lifecycle.HandlerRunner``).

``run_hook`` returns "" on success or upstream's failure message, e.g.
``Exec lifecycle hook ([sh -c exit 1]) for Container "app" in Pod
"web_default(uid)" failed - error: command 'sh -c exit 1' exited with 1: ,
message: ""``.  The manager records only a generic event (FailedPostStartHook
/ FailedPreStopHook, "PostStartHook failed"), as upstream does, so secrets in
command output never reach the API.

httpGet goes through an ``HTTPGetter`` seam (host defaults to the pod IP,
named ports resolve against the container's ports); the default speaks plain
HTTP/1.1 over asyncio streams and treats 2xx-3xx as success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.util.clock import Clock

Obj = dict[str, Any]
HTTPGetter = Callable[[str, str, int, str, Mapping[str, str]], Awaitable[int]]  # scheme, host, port, path, headers


async def plain_http_get(scheme: str, host: str, port: int, path: str, headers: Mapping[str, str]) -> int:
    if scheme.upper() == "HTTPS":
        import ssl
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
    else:
        reader, writer = await asyncio.open_connection(host, port)
    try:
        lines = [f"GET {path or '/'} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: kube-lifecycle/1.32",
                 "Connection: close", *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        status_line = await reader.readline()
        return int(status_line.split()[1])
    finally:
        writer.close()


def go_list(items: list[str]) -> str:
    return "[" + " ".join(items) + "]"


def _port(value: Any, container: Obj) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    for port in container.get("ports") or []:
        if port.get("name") == value:
            return int(port.get("containerPort", 0))
    raise ValueError(f"couldn't find port: {value} in {container.get('name', '')}")


async def run_hook(handler: Obj, *, runtime: ri.RuntimeService, container_id: str, container: Obj, pod_ref: str,
                   pod_ip: str, http_get: HTTPGetter, clock: Clock) -> str:
    name = container.get("name", "")
    if handler.get("exec"):
        cmd = list(handler["exec"].get("command") or [])
        try:
            res = await runtime.exec_sync(container_id, cmd, 0)
        except ri.RuntimeServiceError as exc:
            return (f"Exec lifecycle hook ({go_list(cmd)}) for Container \"{name}\" in Pod \"{pod_ref}\" failed - "
                    f'error: {exc}, message: ""')
        if res.exit_code != 0:
            output = (res.stdout + res.stderr).decode("utf-8", "replace")
            err = f"command '{' '.join(cmd)}' exited with {res.exit_code}: {res.stderr.decode('utf-8', 'replace')}"
            return (f"Exec lifecycle hook ({go_list(cmd)}) for Container \"{name}\" in Pod \"{pod_ref}\" failed - "
                    f"error: {err}, message: \"{output}\"")
        return ""
    if handler.get("httpGet"):
        get = handler["httpGet"]
        try:
            headers = {h.get("name", ""): h.get("value", "") for h in get.get("httpHeaders") or []}
            code = await http_get(get.get("scheme") or "HTTP", get.get("host") or pod_ip,
                                  _port(get.get("port"), container), get.get("path") or "/", headers)
            if not 200 <= code < 400:
                raise ValueError(f"HTTP lifecycle hook returned status code {code}")
        except (OSError, ValueError, IndexError) as exc:
            return (f"HTTP lifecycle hook ({get.get('path', '')}) for Container \"{name}\" in Pod \"{pod_ref}\" "
                    f"failed - error: {exc}")
        return ""
    if handler.get("sleep"):
        await clock.sleep(float(handler["sleep"].get("seconds", 0)))
    return ""
