"""Probes and lifecycle hooks: schemas, defaults and validation.

A probe and a lifecycle handler share the handler actions (exec, httpGet,
tcpSocket, grpc for probes, sleep for hooks); exactly one must be set.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import names
from pyk8s.api.core_v1.common import P, ref
from pyk8s.api.meta_v1 import validate_nonnegative
from pyk8s.machinery.schema import INT32, INT64, STRING, STRING_LIST, ArrayOf, Field, IntOrString, define
from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported, required

Obj = dict[str, Any]

define(P + "ExecAction", "Runs a command inside the container; exit status 0 means success.", [
    Field("command", STRING_LIST, "Command line to run, not interpreted by a shell.", list_type="atomic"),
])
define(P + "HTTPHeader", "One header sent with an HTTP probe.", [
    Field("name", STRING, "Header name.", required=True),
    Field("value", STRING, "Header value.", required=True),
])
define(P + "HTTPGetAction", "Sends an HTTP GET; a 2xx or 3xx answer means success.", [
    Field("path", STRING, "Request path."),
    Field("port", IntOrString(), "Port number or named container port.", required=True),
    Field("host", STRING, "Host to connect to; defaults to the pod IP."),
    Field("scheme", STRING, "HTTP or HTTPS."),
    Field("httpHeaders", ArrayOf(ref("HTTPHeader")), "Extra request headers.", list_type="atomic"),
])
define(P + "TCPSocketAction", "Opens a TCP connection; success if it connects.", [
    Field("port", IntOrString(), "Port number or named container port.", required=True),
    Field("host", STRING, "Host to connect to; defaults to the pod IP."),
])
define(P + "GRPCAction", "Calls the standard gRPC health check service.", [
    Field("port", INT32, "Port of the gRPC service.", required=True),
    Field("service", STRING, "Service name passed in the health check request."),
])
define(P + "SleepAction", "Pauses for a number of seconds.", [
    Field("seconds", INT64, "How long to sleep.", required=True),
])
define(P + "Probe", "A periodic check the kubelet runs against a container.", [
    Field("exec", ref("ExecAction"), "Run a command."),
    Field("httpGet", ref("HTTPGetAction"), "Send an HTTP GET."),
    Field("tcpSocket", ref("TCPSocketAction"), "Open a TCP connection."),
    Field("grpc", ref("GRPCAction"), "Call a gRPC health check."),
    Field("initialDelaySeconds", INT32, "Seconds after container start before the first probe."),
    Field("timeoutSeconds", INT32, "Seconds before a probe attempt times out."),
    Field("periodSeconds", INT32, "Seconds between probes."),
    Field("successThreshold", INT32, "Consecutive successes needed after a failure."),
    Field("failureThreshold", INT32, "Consecutive failures before giving up."),
    Field("terminationGracePeriodSeconds", INT64, "Grace period used when a failed probe kills the container."),
])
define(P + "LifecycleHandler", "An action run at a lifecycle event.", [
    Field("exec", ref("ExecAction"), "Run a command."),
    Field("httpGet", ref("HTTPGetAction"), "Send an HTTP GET."),
    Field("tcpSocket", ref("TCPSocketAction"), "Deprecated; accepted but not run."),
    Field("sleep", ref("SleepAction"), "Sleep for a while."),
])
define(P + "Lifecycle", "Hooks run right after a container starts and right before it stops.", [
    Field("postStart", ref("LifecycleHandler"), "Runs after the container is created."),
    Field("preStop", ref("LifecycleHandler"), "Runs before the container is terminated."),
])

PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}


def _default_handler(handler: Obj) -> None:
    http = handler.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in PROBE_DEFAULTS.items():
        if not probe.get(key):
            probe[key] = value
    _default_handler(probe)


def default_lifecycle(lifecycle: Any) -> None:
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            if isinstance(lifecycle.get(hook), dict):
                _default_handler(lifecycle[hook])


def validate_port_num_or_name(port: Any, path: str) -> list[FieldError]:
    if isinstance(port, int) and not isinstance(port, bool):
        return [invalid(path, port, m) for m in names.is_valid_port_num(port)]
    if isinstance(port, str):
        if not port:
            return [required(path)]
        if port.isdigit():
            return [invalid(path, port, m) for m in names.is_valid_port_num(int(port))]
        return [invalid(path, port, m) for m in names.is_valid_port_name(port)]
    return [invalid(path, port, "must contain an int or a string")]


def _validate_handler(handler: Obj, path: str, kinds: tuple[str, ...]) -> list[FieldError]:
    present = [k for k in kinds if handler.get(k) is not None]
    if not present:
        return [required(path, "must specify a handler type")]
    if len(present) > 1:
        return [forbidden(f"{path}.{present[1]}", "may not specify more than 1 handler type")]
    kind = present[0]
    action, p = handler[kind], f"{path}.{kind}"
    errs: list[FieldError] = []
    if kind == "exec" and not action.get("command"):
        errs.append(required(p + ".command"))
    elif kind == "httpGet":
        if not action.get("path"):
            errs.append(required(p + ".path"))
        errs += validate_port_num_or_name(action.get("port"), p + ".port")
        if action.get("scheme") not in ("HTTP", "HTTPS"):
            errs.append(not_supported(p + ".scheme", action.get("scheme"), ["HTTP", "HTTPS"]))
    elif kind == "tcpSocket":
        errs += validate_port_num_or_name(action.get("port"), p + ".port")
    elif kind == "grpc":
        errs += [invalid(p + ".port", action.get("port"), m) for m in names.is_valid_port_num(action.get("port"))]
    elif kind == "sleep" and (action.get("seconds") or 0) <= 0:
        errs.append(invalid(p + ".seconds", action.get("seconds", 0), "must be greater than 0"))
    return errs


def validate_probe(probe: Any, path: str) -> list[FieldError]:
    if not isinstance(probe, dict):
        return []
    errs = _validate_handler(probe, path, ("exec", "httpGet", "tcpSocket", "grpc"))
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        errs += validate_nonnegative(probe.get(key), f"{path}.{key}")
    tgp = probe.get("terminationGracePeriodSeconds")
    if tgp is not None and tgp <= 0:
        errs.append(invalid(path + ".terminationGracePeriodSeconds", tgp, "must be greater than 0"))
    return errs


def validate_lifecycle(lifecycle: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            if isinstance(lifecycle.get(hook), dict):
                errs += _validate_handler(lifecycle[hook], f"{path}.{hook}", ("exec", "httpGet", "tcpSocket", "sleep"))
    return errs
