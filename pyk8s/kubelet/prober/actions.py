"""One run of one probe handler: exec, httpGet, tcpSocket or grpc (upstream ``prober.runProbe``).

``run(handler, target, runtime, budget)`` returns an ``Outcome``: the verdict and the
output upstream shows after "Liveness probe failed: ".  The wording follows
the Go kubelet, whose messages users grep for:

* exec — the command's combined output; a non-zero exit is a failure, and a
  command past its timeout is ``command timed out``;
* httpGet — 200-399 passes (with redirects to another host not followed, as
  upstream), other codes fail with ``HTTP probe failed with statuscode: N``;
  a connection error reads like Go's ``Get "http://ip:port/path": dial tcp
  ip:port: connect: connection refused``;
* tcpSocket — a completed connect passes: ``dial tcp ip:port: ...`` otherwise;
* grpc — the standard Health/Check; SERVING passes, any other status fails
  with ``service unhealthy (responded with "NOT_SERVING")``.

Requests carry ``User-Agent: kube-probe/1.32`` and ``Accept: */*`` unless the
probe sets them.  HTTPS does not verify certificates, as upstream.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from pyk8s.kubelet.runtime import interface as ri

Obj = Mapping[str, Any]
USER_AGENT = "kube-probe/1.32"
MAX_BODY = 10 * 1024  # upstream reads at most 10 KiB of a probe response


class Result(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    output: str = ""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a probe goes: the container (for exec) and the pod's address (for the network kinds)."""

    container_id: str
    container: Obj
    pod_ip: str


def resolve_port(value: Any, container: Obj) -> int:
    """A probe or hook port: a number, or the name of one of the container's ports."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    for port in container.get("ports") or []:
        if port.get("name") == value:
            return int(port.get("containerPort", 0))
    raise ValueError(f"couldn't find port: {value} in {container.get('name', '')}")


def _dial_error(host: str, port: int, exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        why = "connect: connection refused"
    elif isinstance(exc, TimeoutError):
        why = "i/o timeout"
    else:
        why = str(exc) or type(exc).__name__
    return f"dial tcp {host}:{port}: {why}"


async def run(handler: Obj, target: Target, runtime: ri.RuntimeService, budget: float) -> Outcome:
    try:
        if handler.get("exec") is not None:
            return await _exec(handler["exec"], target, runtime, budget)
        if handler.get("httpGet") is not None:
            return await _http(handler["httpGet"], target, budget)
        if handler.get("tcpSocket") is not None:
            return await _tcp(handler["tcpSocket"], target, budget)
        if handler.get("grpc") is not None:
            return await _grpc(handler["grpc"], target, budget)
    except ValueError as exc:  # an unresolvable named port
        return Outcome(Result.FAILURE, str(exc))
    return Outcome(Result.UNKNOWN, "missing probe handler")


async def _exec(spec: Obj, target: Target, runtime: ri.RuntimeService, budget: float) -> Outcome:
    cmd = [str(c) for c in spec.get("command") or []]
    try:
        res = await runtime.exec_sync(target.container_id, cmd, max(1, int(budget)))
    except ri.ExecTimeoutError:
        return Outcome(Result.FAILURE, f"command {json.dumps(' '.join(cmd))} timed out")  # Go's %q
    except ri.RuntimeServiceError as exc:
        return Outcome(Result.UNKNOWN, str(exc))
    output = (res.stdout + res.stderr).decode("utf-8", "replace")
    return Outcome(Result.SUCCESS if res.exit_code == 0 else Result.FAILURE, output)


def _url(spec: Obj, target: Target) -> tuple[str, str, int]:
    scheme = str(spec.get("scheme") or "HTTP").lower()
    host = str(spec.get("host") or target.pod_ip)
    port = resolve_port(spec.get("port"), target.container)
    path = str(spec.get("path") or "/")
    if not path.startswith("/"):
        path = "/" + path
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}{path}", host, port


async def _http(spec: Obj, target: Target, budget: float) -> Outcome:
    url, host, port = _url(spec, target)
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    for h in spec.get("httpHeaders") or []:
        headers[str(h.get("name", ""))] = str(h.get("value", ""))
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    client_timeout = aiohttp.ClientTimeout(total=budget)
    try:
        async with aiohttp.ClientSession(timeout=client_timeout) as session:
            async with session.get(url, headers=headers, ssl=ctx, allow_redirects=False) as resp:
                body = (await resp.content.read(MAX_BODY)).decode("utf-8", "replace")
                return _http_verdict(resp.status, body, resp.headers.get("Location", ""), host)
    except TimeoutError:
        return Outcome(Result.FAILURE, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while '
                                       "awaiting headers)")
    except aiohttp.ClientConnectorError as exc:
        return Outcome(Result.FAILURE, f'Get "{url}": {_dial_error(host, port, exc.os_error)}')
    except aiohttp.ClientError as exc:
        return Outcome(Result.FAILURE, f'Get "{url}": {exc}')


def _http_verdict(code: int, body: str, location: str, host: str) -> Outcome:
    if 300 <= code < 400 and location:
        # Upstream follows redirects to the same host only; one elsewhere counts as a success with a warning.
        return Outcome(Result.SUCCESS, f"Probe terminated redirects, Response body: {body}")
    if 200 <= code < 400:
        return Outcome(Result.SUCCESS, body)
    return Outcome(Result.FAILURE, f"HTTP probe failed with statuscode: {code}")


async def _tcp(spec: Obj, target: Target, budget: float) -> Outcome:
    host = str(spec.get("host") or target.pod_ip)
    port = resolve_port(spec.get("port"), target.container)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), budget)
    except (OSError, TimeoutError) as exc:
        return Outcome(Result.FAILURE, _dial_error(host, port, exc))
    writer.close()
    return Outcome(Result.SUCCESS)


async def _grpc(spec: Obj, target: Target, budget: float) -> Outcome:
    import grpc.aio
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    port = resolve_port(spec.get("port"), target.container)
    address = f"{target.pod_ip}:{port}"
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=str(spec.get("service") or "")),
                                     timeout=budget)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return Outcome(Result.FAILURE, f'timeout: failed to connect service "{address}" within '
                                               f"{budget:g}s: context deadline exceeded")
            return Outcome(Result.FAILURE, f"rpc error: code = {exc.code().name.title().replace('_', '')} "
                                           f"desc = {exc.details()}")
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    if status == "SERVING":
        return Outcome(Result.SUCCESS)
    return Outcome(Result.FAILURE, f'service unhealthy (responded with "{status}")')
