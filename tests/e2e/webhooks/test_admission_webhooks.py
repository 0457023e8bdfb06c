"""Admission webhooks end to end: the real kubectl against one pyk8s server, a TLS webhook served by a test
process (reached through a selector-less Service with a manual EndpointSlice, and by URL)."""

from __future__ import annotations

import base64
import json

import pytest

from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.webhookserver import MUTATED_LABEL
from tests.e2e.helpers import row_for, table_rows

from .conftest import HelperProcess

pytestmark = pytest.mark.e2e
NS = "wh-e2e"


def _apply(srv: ServerProcess, doc: dict) -> None:
    srv.kubectl("apply", "-f", "-", input=json.dumps(doc))


def _hook(name: str, client_config: dict, **extra: object) -> dict:
    return {"name": name, "clientConfig": client_config, "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": ["configmaps"]}], **extra}


@pytest.fixture(scope="module")
def webhooks(webhook_cluster: ServerProcess, webhook_process: HelperProcess) -> ServerProcess:
    srv = webhook_cluster
    ca = base64.b64encode(webhook_process.ca_pem).decode()
    _apply(srv, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"webhooks": "on"}}})
    _apply(srv, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "webhook", "namespace": NS},
                 "spec": {"ports": [{"name": "https", "port": 443, "targetPort": webhook_process.port}]}})
    _apply(srv, {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                 "metadata": {"name": "webhook-1", "namespace": NS, "labels": {"kubernetes.io/service-name": "webhook"}},
                 "addressType": "IPv4", "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
                 "ports": [{"name": "https", "port": webhook_process.port, "protocol": "TCP"}]})
    _apply(srv, {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                 "metadata": {"name": "e2e-mutate"},
                 "webhooks": [_hook("mutate.pyk8s.test", {"service": {"namespace": NS, "name": "webhook",
                                                                      "path": "/mutate"}, "caBundle": ca},
                                    namespaceSelector={"matchLabels": {"webhooks": "on"}})]})
    _apply(srv, {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                 "metadata": {"name": "e2e-validate"},
                 "webhooks": [_hook("validate.pyk8s.test", {"url": f"https://127.0.0.1:{webhook_process.port}/validate",
                                                            "caBundle": ca})]})
    return srv


def test_mutating_and_validating_webhooks_with_warnings(webhooks: ServerProcess) -> None:
    out = webhooks.kubectl("create", "configmap", "mutated", "-n", NS, "--from-literal=a=b")
    assert "Warning: mutated by test webhook" in out.stderr
    assert "Warning: validated by test webhook" in out.stderr
    labels = json.loads(webhooks.kubectl("get", "configmap", "mutated", "-n", NS, "-o", "json").stdout)["metadata"]
    assert labels["labels"] == {MUTATED_LABEL: "true"}


def test_namespace_selector_leaves_other_namespaces_alone(webhooks: ServerProcess) -> None:
    webhooks.kubectl("create", "configmap", "wh-plain", "--from-literal=a=b")
    meta = json.loads(webhooks.kubectl("get", "configmap", "wh-plain", "-o", "json").stdout)["metadata"]
    assert MUTATED_LABEL not in (meta.get("labels") or {})


def test_validating_webhook_denies_with_upstreams_message(webhooks: ServerProcess) -> None:
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "denied", "namespace": NS,
                                                                 "labels": {"deny": "yes"}}}
    out = webhooks.kubectl("create", "-f", "-", input=json.dumps(doc), check=False)
    assert out.returncode != 0
    assert 'admission webhook "validate.pyk8s.test" denied the request: label "deny" is set' in out.stderr
    assert webhooks.kubectl("get", "configmap", "denied", "-n", NS, check=False).returncode != 0


def test_failure_policy_on_an_unreachable_webhook(webhooks: ServerProcess) -> None:
    dead = {"url": "https://127.0.0.1:9/validate"}  # the discard port: nothing listens on loopback
    rules = [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["secrets"]}]
    _apply(webhooks, {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                      "metadata": {"name": "e2e-ignore"},
                      "webhooks": [_hook("ignore.pyk8s.test", dead, rules=rules, failurePolicy="Ignore")]})
    webhooks.kubectl("create", "secret", "generic", "wh-ignored", "--from-literal=a=b")
    _apply(webhooks, {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                      "metadata": {"name": "e2e-fail"},
                      "webhooks": [_hook("fail.pyk8s.test", dead, rules=rules, failurePolicy="Fail")]})
    try:
        out = webhooks.kubectl("create", "secret", "generic", "wh-failed", "--from-literal=a=b", check=False)
        assert out.returncode != 0
        assert ('Internal error occurred: failed calling webhook "fail.pyk8s.test": failed to call webhook: '
                'Post "https://127.0.0.1:9/validate?timeout=10s": dial tcp 127.0.0.1:9: connect: connection refused'
                in out.stderr)
    finally:
        webhooks.kubectl("delete", "validatingwebhookconfiguration", "e2e-fail", "e2e-ignore")


def test_printers_and_no_validating_admission_policy(webhooks: ServerProcess) -> None:
    out = webhooks.kubectl("get", "mutatingwebhookconfigurations").stdout
    assert table_rows(out)[0] == ["NAME", "WEBHOOKS", "AGE"]
    assert row_for(out, "e2e-mutate")[1] == "1"
    missing = webhooks.kubectl("get", "validatingadmissionpolicies", check=False)
    assert missing.returncode != 0 and "doesn't have a resource type" in missing.stderr
