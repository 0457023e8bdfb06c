"""Container environments: precedence, references, service variables, and upstream's error messages."""

from __future__ import annotations

import base64

import pytest

from pyk8s.kubelet import envvars
from pyk8s.kubelet.kuberuntime.environment import ConfigError, EnvContext, make_environment
from pyk8s.kubelet.kuberuntime.fieldpath import PodNetwork
from pyk8s.testing.fake_objects import FakeObjectSource

from .conftest import ctr, make_pod


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def ctx(sources: FakeObjectSource) -> EnvContext:
    sources.add({"kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
                 "data": {"MODE": "fast", "LEVEL": "3"}})
    sources.add({"kind": "Secret", "metadata": {"name": "creds", "namespace": "default"},
                 "data": {"PASSWORD": _b64("s3cret")}})
    return EnvContext(sources, PodNetwork(["10.244.0.5"], ["192.168.1.10"]), {"cpu": "2", "memory": "8Gi"})


async def test_env_overrides_env_from_and_expands_in_order(ctx: EnvContext) -> None:
    container = ctr("app", envFrom=[{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "creds"}, "prefix": "S_"}],
                    env=[{"name": "MODE", "value": "slow"},
                         {"name": "GREETING", "value": "mode=$(MODE) pw=$(S_PASSWORD) later=$(LATER) $$(MODE)"},
                         {"name": "LATER", "value": "x"}])
    env = await make_environment(make_pod(containers=[container]), container, ctx)
    assert env["MODE"] == "slow" and env["LEVEL"] == "3" and env["S_PASSWORD"] == "s3cret"
    assert env["GREETING"] == "mode=slow pw=s3cret later=$(LATER) $(MODE)"


async def test_value_from_sources(ctx: EnvContext) -> None:
    container = ctr("app", resources={"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}}, env=[
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
        {"name": "CPU_REQ", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
        {"name": "CPU_LIM", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        {"name": "LVL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "LEVEL"}}},
        {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "PASSWORD"}}},
    ])
    env = await make_environment(make_pod(containers=[container]), container, ctx)
    assert {k: env[k] for k in ("POD", "NS", "IP", "HOST", "NODE", "APP", "MEM", "CPU_REQ", "CPU_LIM", "LVL", "PW")} \
        == {"POD": "web", "NS": "default", "IP": "10.244.0.5", "HOST": "192.168.1.10", "NODE": "node-1",
            "APP": "web", "MEM": "64", "CPU_REQ": "250", "CPU_LIM": "2", "LVL": "3", "PW": "s3cret"}


@pytest.mark.parametrize(("env", "env_from", "message"), [
    ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}], [], 'configmap "nope" not found'),
    ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}], [], 'secret "nope" not found'),
    ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}], [],
     "couldn't find key k in ConfigMap default/cfg"),
    ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k"}}}], [],
     "couldn't find key k in Secret default/creds"),
    ([], [{"configMapRef": {"name": "gone"}}], 'configmap "gone" not found'),
    ([], [{"secretRef": {"name": "gone"}}], 'secret "gone" not found'),
])
async def test_missing_references_fail_with_upstream_messages(ctx: EnvContext, env: list, env_from: list,
                                                              message: str) -> None:
    container = ctr("app", env=env, envFrom=env_from)
    with pytest.raises(ConfigError) as err:
        await make_environment(make_pod(containers=[container]), container, ctx)
    assert str(err.value) == message


async def test_optional_references_are_skipped(ctx: EnvContext) -> None:
    container = ctr("app", envFrom=[{"configMapRef": {"name": "gone", "optional": True}}], env=[
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "k", "optional": True}}},
        {"name": "C", "value": "c"}])
    env = await make_environment(make_pod(containers=[container]), container, ctx)
    assert "A" not in env and "B" not in env and env["C"] == "c"


def _svc(name: str, ns: str, ip: str, ports: list) -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip, "ports": ports}}


async def test_service_links(ctx: EnvContext, sources: FakeObjectSource) -> None:
    sources.add(_svc("kubernetes", "default", "10.96.0.1", [{"name": "https", "port": 443, "protocol": "TCP"}]))
    sources.add(_svc("redis-master", "default", "10.96.0.7", [{"port": 6379, "protocol": "TCP"},
                                                              {"name": "metrics", "port": 9121, "protocol": "UDP"}]))
    sources.add(_svc("headless", "default", "None", [{"port": 80}]))
    sources.add(_svc("elsewhere", "other", "10.96.0.9", [{"port": 80}]))
    container = ctr("app", env=[{"name": "REDIS_MASTER_SERVICE_HOST", "value": "mine"},
                                {"name": "URL", "value": "$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)"}])
    env = await make_environment(make_pod(containers=[container]), container, ctx)
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443" and env["KUBERNETES_PORT"] == "tcp://10.96.0.1:443"
    assert env["KUBERNETES_PORT_443_TCP_ADDR"] == "10.96.0.1" and env["KUBERNETES_PORT_443_TCP_PROTO"] == "tcp"
    assert env["REDIS_MASTER_SERVICE_HOST"] == "mine"  # the container's own value wins
    assert env["REDIS_MASTER_PORT_9121_UDP"] == "udp://10.96.0.7:9121"
    assert env["REDIS_MASTER_SERVICE_PORT_METRICS"] == "9121"
    assert env["URL"] == "10.96.0.1:443"
    assert not any(k.startswith(("HEADLESS_", "ELSEWHERE_")) for k in env)

    no_links = make_pod(containers=[container], enableServiceLinks=False)
    env = await make_environment(no_links, container, ctx)
    assert "KUBERNETES_SERVICE_HOST" in env and "REDIS_MASTER_PORT" not in env


def test_master_service_does_not_override_a_namespace_service() -> None:
    mine = _svc("kubernetes", "team", "10.96.5.5", [{"port": 80}])
    master = _svc("kubernetes", "default", "10.96.0.1", [{"port": 443}])
    chosen = envvars.services_for_pod([master, mine], "team", True)
    assert [s["spec"]["clusterIP"] for s in chosen] == ["10.96.5.5"]
