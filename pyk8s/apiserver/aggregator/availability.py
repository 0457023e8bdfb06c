"""The ``Available`` condition of an APIService served by an extension server, as upstream's
availability controller decides it: the Service exists (ServiceNotFound), listens on the port
(ServicePortError), has a ready endpoint (MissingEndpoints), and its discovery document answers
(FailedDiscoveryCheck); otherwise Passed.  The discovery check asks as ``system:kube-aggregator``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from pyk8s.apiserver.registry import cachedreads
from pyk8s.apiserver.webhooks.client import go_error
from pyk8s.apiserver.webhooks.resolve import ResolveError, Target, resolve

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

Obj = dict[str, Any]
CHECK_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    reason: str
    message: str
    discovery: Obj | None = None  # the APIResourceList the check read (for merged discovery)


LOCAL = Verdict("True", "Local", "Local APIServices are always available")


async def _service(registry: Registry, namespace: str, name: str) -> Obj | None:
    store = registry.store("", "services")
    return None if store is None else await cachedreads.get(store, namespace, name)


async def target_of(registry: Registry, apiservice: Obj) -> Target | Verdict:
    ref = apiservice["spec"]["service"]
    ns, name, port = str(ref.get("namespace") or ""), str(ref.get("name") or ""), int(ref.get("port") or 443)
    svc = await _service(registry, ns, name)
    if svc is None:
        return Verdict("False", "ServiceNotFound", f"service/{name} in \"{ns}\" is not present")
    spec = svc.get("spec") or {}
    port_name = ""
    if spec.get("type") != "ExternalName":
        ports = [p for p in spec.get("ports") or [] if p.get("port") == port]
        if not ports:
            return Verdict("False", "ServicePortError", f"service/{name} in \"{ns}\" is not listening on port {port}")
        port_name = str(ports[0].get("name") or "")
    try:
        return await resolve(registry, ns, name, port)
    except ResolveError:
        return Verdict("False", "MissingEndpoints", f"endpoints for service/{name} in \"{ns}\" have no addresses "
                                                    f"with port name \"{port_name}\"")


async def check(registry: Registry, apiservice: Obj, session: aiohttp.ClientSession) -> Verdict:
    if not (apiservice.get("spec") or {}).get("service"):
        return LOCAL
    found = await target_of(registry, apiservice)
    if isinstance(found, Verdict):
        return found
    spec = apiservice["spec"]
    host = f"[{found.host}]" if ":" in found.host else found.host
    url = f"https://{host}:{found.port}/apis/{spec['group']}/{spec['version']}"
    headers = {"X-Remote-User": "system:kube-aggregator", "X-Remote-Group": "system:masters",
               "Accept": "application/json"}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            async with session.get(url, headers=headers, server_hostname=found.server_name) as resp:
                body = await resp.read()
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Verdict("False", "FailedDiscoveryCheck", f"failing or missing response from {url}: "
                                                        f"Get \"{url}\": {go_error(exc, found.host, found.port)}")
    if not 200 <= resp.status < 300:
        return Verdict("False", "FailedDiscoveryCheck", f"failing or missing response from {url}: bad status "
                                                        f"from {url}: {resp.status}")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    return Verdict("True", "Passed", "all checks passed", doc if isinstance(doc, dict) else None)
