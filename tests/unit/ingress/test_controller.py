"""The ingress controller against a fake API server, with a fake nginx: class, config, status, events."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "client"))
from client_fake_apiserver import FakeApiServer  # noqa: E402

from pyk8s.client.kubeconfig import ClientConfig  # noqa: E402
from pyk8s.client.rest import Client  # noqa: E402
from pyk8s.ingress.controller import (  # noqa: E402
    CLASSES,
    INGRESSES,
    NODES,
    SERVICES,
    SLICES,
    IngressController,
    IngressOptions,
)
from pyk8s.ingress.nginx import NginxError  # noqa: E402
from tests.unit.controllers.controller_env import eventually  # noqa: E402


class FakeNginx:
    def __init__(self) -> None:
        self.configs: list[str] = []
        self.running = False
        self.refuse = ""

    async def apply(self, conf_text: str, files: dict[str, bytes]) -> None:
        if self.refuse and self.refuse in conf_text:
            raise NginxError("nginx -t refused the new configuration")
        self.configs.append(conf_text)
        self.running = True

    def alive(self) -> bool:
        return self.running

    async def stop(self, grace: float = 10.0) -> None:
        self.running = False


class Env:
    def __init__(self, srv: FakeApiServer, client: Client, ctl: IngressController, nginx: FakeNginx) -> None:
        self.srv, self.client, self.ctl, self.nginx = srv, client, ctl, nginx

    def obj(self, resource: str, ns: str, name: str) -> dict | None:
        return self.srv.objects.get((resource, ns, name))

    def events(self, reason: str) -> list[str]:
        return [o["message"] for (res, _, _), o in self.srv.objects.items()
                if res == "v1/events" and o.get("reason") == reason]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    srv = await FakeApiServer().start()
    client = Client(ClientConfig(server=srv.url))
    await client.create(NODES, {"metadata": {"name": "n1"},
                                "status": {"addresses": [{"type": "InternalIP", "address": "169.254.9.2"}]}})
    nginx = FakeNginx()
    ctl = IngressController(client, IngressOptions(data_dir=tmp_path, node_name="n1"), nginx)
    task = asyncio.create_task(ctl.run())
    try:
        await asyncio.wait_for(ctl.ready.wait(), 5)
        yield Env(srv, client, ctl, nginx)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
        await srv.stop()


def ingress(name: str, host: str, service: str, **spec: object) -> dict:
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"rules": [{"host": host, "http": {"paths": [
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": service, "port": {"number": 80}}}}]}}], **spec}}


async def test_the_default_class_is_created_and_nginx_started(env: Env) -> None:
    cls = env.obj("networking.k8s.io/v1/ingressclasses", "", "pyk8s")
    assert cls is not None and cls["spec"]["controller"] == "pyk8s.io/ingress-controller"
    assert cls["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
    assert env.nginx.running and "server_name _;" in env.nginx.configs[-1]


async def test_an_ingress_becomes_config_status_and_events(env: Env) -> None:
    await env.client.create(SERVICES, {"metadata": {"name": "web", "namespace": "ns"},
                                       "spec": {"ports": [{"name": "http", "port": 80}]}}, namespace="ns")
    await env.client.create(SLICES, {"metadata": {"name": "web-1", "namespace": "ns",
                                                  "labels": {"kubernetes.io/service-name": "web"}},
                                     "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}],
                                     "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True}}]},
                            namespace="ns")
    await env.client.create(INGRESSES, ingress("site", "a.example.com", "web"), namespace="ns")
    await env.client.create(INGRESSES, ingress("gone", "b.example.com", "nosuch"), namespace="ns")
    await eventually(lambda: "server 10.244.0.5:8080 max_fails=0;" in env.nginx.configs[-1]
                     and "server_name b.example.com;" in env.nginx.configs[-1])
    await eventually(lambda: ((env.obj("networking.k8s.io/v1/ingresses", "ns", "site") or {}).get("status") or {})
                     .get("loadBalancer") == {"ingress": [{"ip": "169.254.9.2"}]})
    await eventually(lambda: env.events("ServiceNotFound") != [])
    assert env.events("ServiceNotFound") == ['spec.rules[0].http.paths[0]: service "ns/nosuch" not found; '
                                             "answering 503"]
    assert sorted(env.events("Sync")) == ["Scheduled for sync", "Scheduled for sync"]


async def test_other_classes_are_ignored_and_refused_configs_keep_the_old_one(env: Env) -> None:
    await env.client.create(CLASSES, {"metadata": {"name": "other"}, "spec": {"controller": "example.com/other"}})
    await env.client.create(INGRESSES, ingress("theirs", "theirs.example.com", "web", ingressClassName="other"),
                            namespace="ns")
    await env.client.create(INGRESSES, ingress("legacy", "legacy.example.com", "web"), namespace="ns")
    await eventually(lambda: "legacy.example.com" in env.nginx.configs[-1])
    assert "theirs.example.com" not in env.nginx.configs[-1]
    applied = len(env.nginx.configs)
    env.nginx.refuse = "refused.example.com"
    await env.client.create(INGRESSES, ingress("refused", "refused.example.com", "web"), namespace="ns")
    await asyncio.sleep(0.3)
    assert len(env.nginx.configs) == applied  # nothing installed; the controller retries with back-off
    env.nginx.refuse = ""
    await env.client.create(INGRESSES, ingress("later", "later.example.com", "web"), namespace="ns")
    await eventually(lambda: "refused.example.com" in env.nginx.configs[-1])


async def test_the_publish_service_carries_our_endpoints_and_its_ip_is_published(env: Env) -> None:
    await env.client.create(INGRESSES, ingress("site", "a.example.com", "web"), namespace="ns")
    await eventually(lambda: env.obj("v1/services", "kube-system", "pyk8s-ingress") is not None
                     and env.obj("discovery.k8s.io/v1/endpointslices", "kube-system", "pyk8s-ingress-n1") is not None)
    svc = env.obj("v1/services", "kube-system", "pyk8s-ingress") or {}
    assert svc["spec"]["type"] == "LoadBalancer" and "selector" not in svc["spec"]
    assert [(p["name"], p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [("http", 80, 80),
                                                                                      ("https", 443, 443)]
    es = env.obj("discovery.k8s.io/v1/endpointslices", "kube-system", "pyk8s-ingress-n1") or {}
    assert es["metadata"]["labels"]["kubernetes.io/service-name"] == "pyk8s-ingress"
    assert [e["addresses"] for e in es["endpoints"]] == [["169.254.9.2"]]
    # The load-balancer controller gives the Service an address: Ingress statuses show it.
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "10.0.0.8", "ipMode": "VIP"}]}}
    await env.client.update(SERVICES, svc, namespace="kube-system", subresource="status")
    await eventually(lambda: ((env.obj("networking.k8s.io/v1/ingresses", "ns", "site") or {}).get("status") or {})
                     .get("loadBalancer") == {"ingress": [{"ip": "10.0.0.8"}]})


async def test_a_burst_of_changes_is_one_or_two_reloads(env: Env) -> None:
    await asyncio.sleep(1.1)  # past the start's reload
    before = len(env.nginx.configs)
    for i in range(8):
        await env.client.create(INGRESSES, ingress(f"burst-{i}", f"b{i}.example.com", "web"), namespace="ns")
    await eventually(lambda: "server_name b7.example.com;" in env.nginx.configs[-1])
    assert all(f"server_name b{i}.example.com;" in env.nginx.configs[-1] for i in range(8))
    assert len(env.nginx.configs) - before <= 3  # at most one reload a second


def _slice(service: str, name: str, *endpoints: tuple[str, bool]) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}} for ip, ready in endpoints]}


async def test_endpoint_changes_reload_only_when_the_served_addresses_change(env: Env) -> None:
    """No reload for endpoint churn that leaves what nginx proxies to as it is: Services no Ingress uses,
    endpoints that are not ready, a slice rewritten with the same ready addresses."""
    for name in ("web", "unused"):
        await env.client.create(SERVICES, {"metadata": {"name": name, "namespace": "ns"},
                                           "spec": {"ports": [{"name": "http", "port": 80}]}}, namespace="ns")
    await env.client.create(SLICES, _slice("web", "web-1", ("10.244.0.5", True)), namespace="ns")
    await env.client.create(SLICES, _slice("unused", "unused-1", ("10.244.0.9", True)), namespace="ns")
    await env.client.create(INGRESSES, ingress("site", "a.example.com", "web"), namespace="ns")
    await eventually(lambda: "server 10.244.0.5:8080 max_fails=0;" in env.nginx.configs[-1])
    await asyncio.sleep(1.1)  # past the minimum interval between reloads
    before = len(env.nginx.configs)
    seen: list[str] = []  # the web slice's resourceVersion as each sync found it
    sync = env.ctl.controller.sync

    async def spy(key: str) -> float | None:
        result = await sync(key)
        slice_ = env.ctl.slices.lister.get("web-1", "ns")
        seen.append(str((slice_ or {}).get("metadata", {}).get("resourceVersion")))
        return result

    env.ctl.controller.sync = spy
    unused = await env.client.get(SLICES, "unused-1", namespace="ns")
    unused["endpoints"].append({"addresses": ["10.244.0.10"], "conditions": {"ready": True}})
    await env.client.update(SLICES, unused, namespace="ns")
    web = await env.client.get(SLICES, "web-1", namespace="ns")
    web["endpoints"].append({"addresses": ["10.244.0.6"], "conditions": {"ready": False}})  # starting up
    await env.client.update(SLICES, web, namespace="ns")
    web = await env.client.get(SLICES, "web-1", namespace="ns")
    web["metadata"]["annotations"] = {"touched": "yes"}
    await env.client.update(SLICES, web, namespace="ns")
    # The controller has synced with all three in its caches, yet nginx got nothing new.
    touched = (await env.client.get(SLICES, "web-1", namespace="ns"))["metadata"]["resourceVersion"]
    await eventually(lambda: touched in seen)
    await asyncio.sleep(1.1)  # a reload held back by the one-a-second limit would have happened by now
    assert len(env.nginx.configs) == before
    web = await env.client.get(SLICES, "web-1", namespace="ns")
    web["endpoints"][1]["conditions"]["ready"] = True  # now it serves: one reload
    await env.client.update(SLICES, web, namespace="ns")
    await eventually(lambda: "server 10.244.0.6:8080 max_fails=0;" in env.nginx.configs[-1])
    assert len(env.nginx.configs) == before + 1
