"""A fake API server, a client and one controller wired together, for controller unit tests."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "client"))
from client_fake_apiserver import FakeApiServer  # noqa: E402

import pyk8s.api  # noqa: E402,F401
from pyk8s.client.kubeconfig import ClientConfig  # noqa: E402
from pyk8s.client.rest import Client  # noqa: E402
from pyk8s.client.tools.informer import SharedInformerFactory  # noqa: E402
from pyk8s.controllers.manager import ControllerContext  # noqa: E402
from pyk8s.testing.fake_clock import FakeClock  # noqa: E402


async def eventually(pred: Callable[[], bool], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while not pred():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


class Env:
    """A fake API server, a client and one controller running against them."""

    def __init__(self, srv: FakeApiServer, client: Client, ctl: Any, clock: FakeClock) -> None:
        self.srv, self.client, self.ctl, self.clock = srv, client, ctl, clock

    def obj(self, resource: str, ns: str, name: str) -> dict | None:
        return self.srv.objects.get((resource, ns, name))


async def start_env(make: Callable[[ControllerContext], Any], options: dict | None = None,
                    server: type[FakeApiServer] = FakeApiServer) -> tuple[Env, list]:
    srv = await server().start()
    client = Client(ClientConfig(server=srv.url))
    clock = FakeClock()
    factory = SharedInformerFactory(client, clock=clock)
    ctl = make(ControllerContext(client, factory, clock, options or {}))
    tasks = [asyncio.create_task(factory.run()), asyncio.create_task(ctl.run())]
    await ctl.ready.wait()
    return Env(srv, client, ctl, clock), tasks


async def stop_env(env: Env, tasks: list) -> None:
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await env.client.close()
    await env.srv.stop()


# Objects for the endpoints and EndpointSlice controller tests.


def pod(name: str, ip: str, *, ready: bool = True, labels: dict | None = None, node: str = "n1",
        ports: list | None = None, **extra: Any) -> dict:
    spec: dict = {"nodeName": node, "containers": [{"name": "c", "ports": ports or [{"name": "http", "containerPort": 8080}]}]}
    spec.update(extra.pop("spec", {}))
    meta: dict = {"name": name, "namespace": "ns", "uid": f"uid-{name}", "labels": labels or {"app": "web"}}
    meta.update(extra.pop("meta", {}))
    return {"metadata": meta, "spec": spec,
            "status": {"phase": extra.pop("phase", "Running"), "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def service(name: str = "web", **spec: Any) -> dict:
    base = {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
    base.update(spec)
    return {"metadata": {"name": name, "namespace": "ns", "uid": "svc-uid"}, "spec": base}
