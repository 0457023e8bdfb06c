"""``pods/exec``, ``pods/attach`` and ``pods/portforward``: checked here, then passed through to the kubelet.

Upstream's ``ExecLocation``/``AttachLocation``/``PortForwardLocation`` and
their words:

* at least one of stdin, stdout, stderr — 400 ``you must specify at least 1
  of stdin, stdout, stderr``;
* the container: the only one when none is named, else 400 ``a container
  name must be specified for pod P, choose one of: [a b]``; an unknown one
  400 ``container c is not valid for pod P`` (ephemeral containers count);
* a pod without a node — 400 ``pod P does not have a host assigned``;
* a plain request without ``Upgrade`` — 400 ``Upgrade request required``.

The kubelet URL carries upstream's kubelet parameters (``command`` repeated,
``input``/``output``/``error``/``tty`` = 1, ``port`` for port-forward), and
the upgraded connection is relayed unchanged (``upgradeproxy``); the kubelet
speaks the protocols (see ``pyk8s.kubelet.server.remotecommand``).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from pyk8s.apiserver.endpoints import upgradeproxy
from pyk8s.apiserver.endpoints.podlogs import pick_container
from pyk8s.apiserver.kubeletclient import KubeletClient, kubelet_location
from pyk8s.machinery.errors import bad_request

Obj = dict[str, Any]
KUBELET_PARAMS = (("stdin", "input"), ("stdout", "output"), ("stderr", "error"), ("tty", "tty"))


def _on(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("1", "true")


def kubelet_path(pod: Obj, subresource: str, query: Any) -> str:
    """The kubelet path and query for ``subresource`` of ``pod``, after upstream's option checks."""
    meta = pod.get("metadata") or {}
    ns, name = meta.get("namespace", ""), meta.get("name", "")
    if subresource == "portforward":
        ports = [("port", p) for p in query.getall("ports", [])]
        return f"/portForward/{ns}/{name}" + (f"?{urllib.parse.urlencode(ports)}" if ports else "")
    if not any(_on(query, n) for n in ("stdin", "stdout", "stderr")):
        raise bad_request("you must specify at least 1 of stdin, stdout, stderr")
    container = pick_container(pod, query.get("container", ""))
    params = [("command", c) for c in query.getall("command", [])] if subresource == "exec" else []
    params += [(theirs, "1") for ours, theirs in KUBELET_PARAMS if _on(query, ours)]
    path = f"/{subresource}/{ns}/{name}/{container}"
    return path + (f"?{urllib.parse.urlencode(params)}" if params else "")


async def serve(request: web.Request, pod: Obj, node: Obj | None, subresource: str,
                kubelets: KubeletClient) -> web.StreamResponse:
    path = kubelet_path(pod, subresource, request.query)
    if node is None:
        raise bad_request(f"pod {(pod.get('metadata') or {}).get('name', '')} does not have a host assigned")
    if not upgradeproxy.is_upgrade(request):
        raise bad_request("Upgrade request required")
    return await upgradeproxy.proxy(request, kubelets, kubelet_location(node) + path)
