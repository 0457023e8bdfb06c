"""``GET pods/{name}/log``: checked here, streamed from the node's kubelet (upstream ``LogREST``).

The checks and their words are upstream's:

* ``PodLogOptions`` validation (tailLines >= 0, limitBytes and sinceSeconds
  > 0, not both sinceSeconds and sinceTime) — 422 Invalid;
* no ``container`` for a pod with several — 400 ``a container name must be
  specified for pod P, choose one of: [a b]`` (and the init containers);
  an unknown one — 400 ``container c is not valid for pod P``;
* the kubelet's ``validateContainerLogStatus``, from the pod's status: a
  container that never ran is ``waiting to start: <reason>``, ``previous``
  needs a terminated instance — 400;
* a pod not bound to a node has no logs yet: an empty answer.

Then the kubelet's ``/containerLogs`` is fetched with the same options and
its bytes are passed on as they arrive (``follow`` streams until the
container ends or the client goes away).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web

from pyk8s.apiserver.kubeletclient import KubeletClient, kubelet_location, request_error
from pyk8s.machinery.errors import Cause, StatusError, bad_request, invalid

Obj = dict[str, Any]
PASSED = ("follow", "previous", "timestamps", "tailLines", "sinceSeconds", "sinceTime", "limitBytes")


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        return int(query[name])
    except ValueError:
        raise bad_request(f'strconv.ParseInt: parsing "{query[name]}": invalid syntax') from None


def validate_options(query: Mapping[str, str]) -> None:
    causes: list[Cause] = []
    tail, limit, since = (_int_param(query, n) for n in ("tailLines", "limitBytes", "sinceSeconds"))
    if tail is not None and tail < 0:
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {tail}: must be greater than or equal to 0",
                            "tailLines"))
    if limit is not None and limit < 1:
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {limit}: must be greater than 0", "limitBytes"))
    if since is not None and since < 1:
        causes.append(Cause("FieldValueInvalid", f"Invalid value: {since}: must be greater than 0", "sinceSeconds"))
    if since is not None and "sinceTime" in query:
        causes.append(Cause("FieldValueForbidden", "Forbidden: at most one of sinceTime or sinceSeconds may be "
                                                   "specified", ""))
    if causes:
        raise invalid("PodLogOptions", "", causes, group="")


def _names(containers: list[Obj]) -> str:
    return " ".join(str(c.get("name", "")) for c in containers)


def pick_container(pod: Obj, requested: str) -> str:
    spec = pod.get("spec") or {}
    name = (pod.get("metadata") or {}).get("name", "")
    containers = spec.get("containers") or []
    inits = spec.get("initContainers") or []
    if not requested:
        if len(containers) == 1:
            return str(containers[0].get("name", ""))
        message = f"a container name must be specified for pod {name}, choose one of: [{_names(containers)}]"
        if inits:
            message += f" or one of the init containers: [{_names(inits)}]"
        raise bad_request(message)
    everything = [*containers, *inits, *(spec.get("ephemeralContainers") or [])]
    if not any(c.get("name") == requested for c in everything):
        raise bad_request(f"container {requested} is not valid for pod {name}")
    return requested


def check_log_status(pod: Obj, container: str, previous: bool) -> None:
    """Upstream kubelet's ``validateContainerLogStatus``, from what the pod's status shows."""
    name = (pod.get("metadata") or {}).get("name", "")
    status = pod.get("status") or {}
    every = [*(status.get("containerStatuses") or []), *(status.get("initContainerStatuses") or []),
             *(status.get("ephemeralContainerStatuses") or [])]
    found = next((s for s in every if s.get("name") == container), None)
    if found is None:
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')
    state, last = found.get("state") or {}, found.get("lastState") or {}
    if previous:
        if not (last.get("terminated") or {}).get("containerID"):
            raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
        return
    if state.get("running") or state.get("terminated") or last.get("terminated"):
        return
    reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
    raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {reason}')


async def serve(request: web.Request, pod: Obj, node: Obj | None, kubelets: KubeletClient) -> web.StreamResponse:
    query = request.query
    validate_options(query)
    container = pick_container(pod, query.get("container", ""))
    if node is None:
        return web.Response(body=b"", content_type="text/plain")
    previous = query.get("previous", "false").lower() == "true"
    check_log_status(pod, container, previous)
    meta = pod.get("metadata") or {}
    url = f"{kubelet_location(node)}/containerLogs/{meta.get('namespace')}/{meta.get('name')}/{container}"
    params = {k: query[k] for k in PASSED if k in query}
    try:
        async with kubelets.session().get(url, params=params) as upstream:
            if upstream.status != 200:
                raise _kubelet_error(upstream.status, await upstream.text())
            resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
            await resp.prepare(request)
            async for chunk in upstream.content.iter_any():
                await resp.write(chunk)
            await resp.write_eof()
            return resp
    except (aiohttp.ClientError, OSError) as exc:
        shown = f"{url}?{urllib.parse.urlencode(params)}" if params else url
        raise request_error("GET", shown, exc) from exc


def _kubelet_error(code: int, body: str) -> StatusError:
    try:
        message = str(json.loads(body).get("message") or body)
    except ValueError:
        message = body.strip()
    return bad_request(message) if code in (400, 404) else StatusError(code, "InternalError", message)
