"""The webhook admission plugins against a real TLS webhook on loopback: patches, denials, warnings,
failure policies, selectors, matchConditions, reinvocation, dry run, and the exemption of their own kinds."""

from typing import Any

import pytest

from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import DeleteOptions, WriteOptions
from pyk8s.machinery.errors import StatusError
from pyk8s.testing.webhookserver import MUTATED_LABEL, WebhookServer, json_patch

from .conftest import GROUP, configmap, configure, hook, store


def url_config(server: WebhookServer, path: str) -> dict[str, Any]:
    return {"url": server.url(path), "caBundle": server.ca_bundle}


async def create(reg: Registry, obj: dict[str, Any], opts: WriteOptions | None = None) -> dict[str, Any]:
    return await store(reg, "", "configmaps").create(obj["metadata"]["namespace"], obj, opts or WriteOptions())


async def test_mutating_webhook_patches_and_warns(registry: Registry, webhook: WebhookServer) -> None:
    await configure(registry, "mutating", "m", hook("mutate.pyk8s.test", url_config(webhook, "/mutate")))
    opts = WriteOptions()
    created = await create(registry, configmap("cm1"), opts)
    assert created["metadata"]["labels"] == {MUTATED_LABEL: "true"}
    assert "mutated by test webhook" in opts.warnings
    review = webhook.reviews[-1]
    assert review["apiVersion"] == "admission.k8s.io/v1" and review["kind"] == "AdmissionReview"
    req = review["request"]
    assert req["operation"] == "CREATE" and req["namespace"] == "default" and req["name"] == "cm1"
    assert req["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
    assert req["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
    assert req["options"]["kind"] == "CreateOptions" and req["oldObject"] is None


async def test_validating_webhook_denies_with_upstreams_message(registry: Registry, webhook: WebhookServer) -> None:
    await configure(registry, "validating", "v", hook("validate.pyk8s.test", url_config(webhook, "/validate")))
    with pytest.raises(StatusError) as exc:
        await create(registry, configmap("bad", labels={"deny": "yes"}))
    assert exc.value.code == 403
    assert exc.value.message == 'admission webhook "validate.pyk8s.test" denied the request: label "deny" is set'
    opts = WriteOptions()
    await create(registry, configmap("good"), opts)
    assert opts.warnings == ["validated by test webhook"]


async def test_denial_without_code_is_403_and_without_message_says_so(registry: Registry) -> None:
    server = WebhookServer(lambda path, req: {"allowed": False})
    await server.start()
    try:
        await configure(registry, "validating", "v", hook("quiet.pyk8s.test", url_config(server, "/")))
        with pytest.raises(StatusError) as exc:
            await create(registry, configmap("x"))
        assert exc.value.code == 403
        assert exc.value.message == 'admission webhook "quiet.pyk8s.test" denied the request without explanation'
    finally:
        await server.stop()


async def test_unreachable_webhook_fail_and_ignore(registry: Registry, webhook: WebhookServer) -> None:
    port = webhook.port
    await webhook.stop()  # nothing listens there any more
    cfg = {"url": f"https://127.0.0.1:{port}/validate", "caBundle": webhook.ca_bundle}
    await configure(registry, "validating", "ignore", hook("ignore.pyk8s.test", cfg, failurePolicy="Ignore"))
    assert (await create(registry, configmap("ok")))["metadata"]["name"] == "ok"
    await configure(registry, "validating", "fail", hook("fail.pyk8s.test", cfg))
    with pytest.raises(StatusError) as exc:
        await create(registry, configmap("nope"))
    assert exc.value.code == 500 and exc.value.reason == "InternalError"
    assert exc.value.message == (f'Internal error occurred: failed calling webhook "fail.pyk8s.test": failed to call '
                                 f'webhook: Post "https://127.0.0.1:{port}/validate?timeout=10s": dial tcp '
                                 f'127.0.0.1:{port}: connect: connection refused')


async def test_wrong_ca_and_timeout_fail(registry: Registry, webhook: WebhookServer) -> None:
    other = WebhookServer()
    cfg = {"url": webhook.url("/validate"), "caBundle": other.ca_bundle}
    await configure(registry, "validating", "ca", hook("ca.pyk8s.test", cfg))
    with pytest.raises(StatusError) as exc:
        await create(registry, configmap("x"))
    assert "x509: certificate signed by unknown authority" in exc.value.message
    await store(registry, GROUP, "validatingwebhookconfigurations").delete("", "ca", DeleteOptions())
    await configure(registry, "validating", "slow", hook("slow.pyk8s.test", url_config(webhook, "/slow"),
                                                         timeoutSeconds=1))
    with pytest.raises(StatusError) as exc:
        await create(registry, configmap("y"))
    assert exc.value.message.endswith('/slow?timeout=1s": context deadline exceeded')


async def test_namespace_and_object_selectors(registry: Registry, webhook: WebhookServer) -> None:
    await store(registry, "", "namespaces").create("", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "watched", "labels": {"webhooks": "on"}}}, WriteOptions())
    await configure(registry, "mutating", "m", hook("mutate.pyk8s.test", url_config(webhook, "/mutate"),
                                                    namespaceSelector={"matchLabels": {"webhooks": "on"}},
                                                    objectSelector={"matchExpressions": [
                                                        {"key": "skip", "operator": "DoesNotExist"}]}))
    assert "labels" not in (await create(registry, configmap("plain")))["metadata"]
    watched = await create(registry, configmap("w", namespace="watched"))
    assert watched["metadata"]["labels"] == {MUTATED_LABEL: "true"}
    skipped = await create(registry, configmap("s", namespace="watched", labels={"skip": "1"}))
    assert skipped["metadata"]["labels"] == {"skip": "1"}


async def test_rules_do_not_match_other_resources_or_operations(registry: Registry, webhook: WebhookServer) -> None:
    await configure(registry, "validating", "v", hook("validate.pyk8s.test", url_config(webhook, "/validate"),
                                                      rules=[{"operations": ["UPDATE"], "apiGroups": [""],
                                                              "apiVersions": ["*"], "resources": ["configmaps"]}]))
    await create(registry, configmap("c", labels={"deny": "1"}))  # a CREATE is not sent
    assert webhook.reviews == []
    cms = store(registry, "", "configmaps")
    current = await cms.get("default", "c")
    current["data"] = {"a": "c"}
    with pytest.raises(StatusError):
        await cms.update("default", "c", current, WriteOptions())
    assert webhook.reviews[-1]["request"]["operation"] == "UPDATE"
    assert webhook.reviews[-1]["request"]["oldObject"]["data"] == {"a": "b"}


async def test_match_conditions(registry: Registry, webhook: WebhookServer) -> None:
    conds = [{"name": "only-named-x", "expression": "object.metadata.name.startsWith('x')"}]
    await configure(registry, "validating", "v", hook("validate.pyk8s.test", url_config(webhook, "/validate"),
                                                      matchConditions=conds))
    await create(registry, configmap("a", labels={"deny": "1"}))  # condition false: not called
    with pytest.raises(StatusError):
        await create(registry, configmap("xa", labels={"deny": "1"}))


async def test_reinvocation_if_needed(registry: Registry) -> None:
    calls: list[str] = []

    def first(path: str, req: dict[str, Any]) -> dict[str, Any]:
        calls.append(path)
        if path == "/second":
            return {"allowed": True, **json_patch([{"op": "add", "path": "/data/second", "value": "1"}])}
        return {"allowed": True}

    server = WebhookServer(first)
    await server.start()
    try:
        await configure(registry, "mutating", "a", hook("first.pyk8s.test", url_config(server, "/first"),
                                                        reinvocationPolicy="IfNeeded"))
        await configure(registry, "mutating", "b", hook("second.pyk8s.test", url_config(server, "/second")))
        created = await create(registry, configmap("r"))
        assert created["data"] == {"a": "b", "second": "1"}
        assert calls == ["/first", "/second", "/first"]
    finally:
        await server.stop()


async def test_configurations_themselves_are_exempt(registry: Registry, webhook: WebhookServer) -> None:
    await configure(registry, "validating", "v", hook("all.pyk8s.test", {"url": "https://127.0.0.1:1/x"},
                                                      rules=[{"operations": ["*"], "apiGroups": ["*"],
                                                              "apiVersions": ["*"], "resources": ["*"]}]))
    await configure(registry, "validating", "v2", hook("other.pyk8s.test", url_config(webhook, "/allow")))


async def test_service_reference_resolves_through_endpointslice(registry: Registry, webhook: WebhookServer) -> None:
    await store(registry, "", "services").create("default", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "webhook", "namespace": "default"},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": webhook.port}]}}, WriteOptions())
    await store(registry, "discovery.k8s.io", "endpointslices").create("default", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "webhook-1", "namespace": "default", "labels": {"kubernetes.io/service-name": "webhook"}},
        "addressType": "IPv4", "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": webhook.port, "protocol": "TCP"}]}, WriteOptions())
    cfg = {"service": {"namespace": "default", "name": "webhook", "path": "/mutate"}, "caBundle": webhook.ca_bundle}
    await configure(registry, "mutating", "svc", hook("svc.pyk8s.test", cfg))
    assert (await create(registry, configmap("via-svc")))["metadata"]["labels"] == {MUTATED_LABEL: "true"}
    cfg2 = {"service": {"namespace": "default", "name": "missing", "path": "/mutate"}, "caBundle": webhook.ca_bundle}
    await configure(registry, "mutating", "svc2", hook("missing.pyk8s.test", cfg2))
    with pytest.raises(StatusError) as exc:
        await create(registry, configmap("via-missing"))
    assert 'Post "https://missing.default.svc:443/mutate?timeout=10s": service "missing" not found' in exc.value.message
