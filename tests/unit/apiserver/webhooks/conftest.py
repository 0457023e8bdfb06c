"""A registry with the default admission chain (webhook plugins included) and a TLS webhook on 127.0.0.1."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.registry import Registry, build_registry
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage
from pyk8s.testing.webhookserver import WebhookServer

GROUP = "admissionregistration.k8s.io"


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    storage = open_storage("memory://")
    await storage.start()
    reg = build_registry(SCHEME, storage)
    await bootstrap(reg, api_address="127.0.0.1", api_port=6443)
    try:
        yield reg
    finally:
        for name in ("MutatingAdmissionWebhook", "ValidatingAdmissionWebhook"):
            plugin = reg.admission.plugin(name)
            if plugin is not None:
                await plugin.client.close()  # type: ignore[attr-defined]
        await reg.close()
        await storage.close()


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookServer]:
    server = WebhookServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def store(reg: Registry, group: str, plural: str) -> GenericStore:
    s = reg.store(group, plural)
    assert s is not None
    return s


def hook(name: str, client_config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    rules = extra.pop("rules", [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                 "resources": ["configmaps"]}])
    return {"name": name, "clientConfig": client_config, "rules": rules, "sideEffects": "None",
            "admissionReviewVersions": ["v1"], **extra}


async def configure(reg: Registry, kind: str, name: str, *hooks: dict[str, Any]) -> None:
    plural = "mutatingwebhookconfigurations" if kind == "mutating" else "validatingwebhookconfigurations"
    kind_name = "MutatingWebhookConfiguration" if kind == "mutating" else "ValidatingWebhookConfiguration"
    await store(reg, GROUP, plural).create("", {"apiVersion": f"{GROUP}/v1", "kind": kind_name,
                                                "metadata": {"name": name}, "webhooks": list(hooks)},
                                           WriteOptions())


def configmap(name: str, namespace: str = "default", labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "b"}}
