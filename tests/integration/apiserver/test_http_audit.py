"""Audit logging through the real filter chain and registry (memory storage): the lines a request leaves
in ``--audit-log-path`` under a policy, read back after the writer thread flushed them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

import pyk8s.api  # noqa: F401  (fills the scheme)
from pyk8s.apiserver import audit
from pyk8s.apiserver.audit.policy import parse
from pyk8s.apiserver.authorization.union import build_authorizer
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.endpoints.system import Readiness
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo
from pyk8s.apiserver.registry import build_registry
from pyk8s.apiserver.server import build_app
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

ADMIN = {"Authorization": "Bearer admin-token"}
BOB = {"Authorization": "Bearer bob-token"}
JSON = {"Content-Type": "application/json"}
CM = "/api/v1/namespaces/default/configmaps"
POLICY = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"], "rules": [
    {"level": "None", "nonResourceURLs": ["/healthz*"]},
    {"level": "RequestResponse", "resources": [{"group": "", "resources": ["configmaps"]}],
     "omitManagedFields": True},
    {"level": "Request", "resources": [{"group": "", "resources": ["secrets"]}], "omitStages": ["ResponseStarted"]},
    {"level": "Metadata"},
]}


class Harness:
    def __init__(self, client: TestClient, auditor: audit.Auditor, log: Path) -> None:
        self.client, self.auditor, self.log = client, auditor, log

    def events(self) -> list[dict[str, Any]]:
        """Every line written so far (the writer thread is drained first)."""
        self.auditor.close()
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    storage = open_storage("memory://")
    await storage.start()
    registry = build_registry(SCHEME, storage)
    await bootstrap(registry, api_address="127.0.0.1", api_port=6443)
    signer = TokenSigner(b"k" * 32)
    auth = Authenticator(tokens={"admin-token": UserInfo("admin", ("system:masters", "system:authenticated")),
                                 "bob-token": UserInfo("bob", ("system:authenticated",))}, signer=signer)
    log = tmp_path / "audit" / "audit.log"
    config = ServerConfig(data_dir=tmp_path, audit_policy_file=tmp_path / "policy.yaml", audit_log_path=str(log))
    auditor = audit.build(config, parse(POLICY))
    assert auditor is not None
    app = build_app(config=config, registry=registry, authenticator=auth, readiness=Readiness(()),
                    token_signer=signer, authorizer=build_authorizer(("Node", "RBAC"), registry), auditor=auditor)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Harness(client, auditor, log)
    finally:
        await client.close()
        auditor.close()
        await registry.close()
        await storage.close()


async def test_a_create_at_request_response_level(harness: Harness) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, "data": {"a": "b"}}
    resp = await harness.client.post(CM, json=body, headers={**ADMIN, "User-Agent": "tester/1.0"})
    assert resp.status == 201
    audit_id = resp.headers["Audit-Id"]
    [event] = [e for e in harness.events() if e["auditID"] == audit_id]
    assert event["stage"] == "ResponseComplete" and event["level"] == "RequestResponse"
    assert event["verb"] == "create" and event["requestURI"] == CM and event["userAgent"] == "tester/1.0"
    assert event["user"] == {"username": "admin", "groups": ["system:masters", "system:authenticated"]}
    assert event["objectRef"] == {"resource": "configmaps", "namespace": "default", "name": "c1", "apiVersion": "v1"}
    assert event["responseStatus"] == {"metadata": {}, "code": 201}
    assert event["requestObject"] == body
    assert event["responseObject"]["data"] == {"a": "b"}
    assert "managedFields" not in event["responseObject"]["metadata"]  # omitManagedFields
    assert event["annotations"] == {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
    assert event["sourceIPs"] == ["127.0.0.1"]
    assert list(event)[:4] == ["kind", "apiVersion", "level", "auditID"]


async def test_a_refusal_carries_the_status_and_the_decision(harness: Harness) -> None:
    resp = await harness.client.get("/api/v1/namespaces/default/pods", headers=BOB)
    assert resp.status == 403
    [event] = [e for e in harness.events() if e["auditID"] == resp.headers["Audit-Id"]]
    assert event["level"] == "Metadata" and event["verb"] == "list"
    assert event["responseStatus"] == {
        "metadata": {}, "status": "Failure", "reason": "Forbidden", "details": {"kind": "pods"}, "code": 403,
        "message": 'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace '
                   '"default"'}
    assert event["annotations"] == {"authorization.k8s.io/decision": "forbid", "authorization.k8s.io/reason": ""}
    assert "requestObject" not in event and "responseObject" not in event


async def test_impersonation_is_recorded_beside_the_real_user(harness: Harness) -> None:
    resp = await harness.client.get(CM, headers={**ADMIN, "Impersonate-User": "bob"})
    assert resp.status == 403
    [event] = [e for e in harness.events() if e["auditID"] == resp.headers["Audit-Id"]]
    assert event["user"]["username"] == "admin"
    assert event["impersonatedUser"] == {"username": "bob", "groups": ["system:authenticated"]}
    assert list(event).index("impersonatedUser") == list(event).index("user") + 1


async def test_failed_authentication_is_one_response_started_event(harness: Harness) -> None:
    resp = await harness.client.get(CM, headers={"Authorization": "Bearer wrong"})
    assert resp.status == 401
    [event] = [e for e in harness.events() if e["auditID"] == resp.headers["Audit-Id"]]
    assert event["stage"] == "ResponseStarted" and event["user"] == {}
    assert event["responseStatus"] == {"metadata": {}, "message": "Authentication failed, attempted: bearer",
                                       "code": 401}


async def test_a_watch_logs_response_started_then_complete(harness: Harness) -> None:
    resp = await harness.client.get(CM + "?watch=true&timeoutSeconds=1", headers=ADMIN)
    assert resp.status == 200
    await resp.read()
    stages = [e for e in harness.events() if e["auditID"] == resp.headers["Audit-Id"]]
    assert [e["stage"] for e in stages] == ["ResponseStarted", "ResponseComplete"]
    assert all(e["verb"] == "watch" and e["responseStatus"] == {"metadata": {}, "code": 200} for e in stages)
    assert "responseObject" not in stages[1]


async def test_levels_and_omitted_stages_follow_the_policy(harness: Harness) -> None:
    health = await harness.client.get("/healthz", headers=ADMIN)
    assert health.status == 200 and health.headers["Audit-Id"]  # the header even when not audited
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"}, "stringData": {"k": "v"}}
    made = await harness.client.post("/api/v1/namespaces/default/secrets", json=secret, headers=ADMIN)
    assert made.status == 201
    events = harness.events()
    assert not [e for e in events if e["auditID"] == health.headers["Audit-Id"]]
    assert all(e["stage"] != "RequestReceived" for e in events)  # the policy's omitStages
    [event] = [e for e in events if e["auditID"] == made.headers["Audit-Id"]]
    assert event["level"] == "Request" and event["requestObject"] == secret and "responseObject" not in event


async def test_a_client_audit_id_is_kept(harness: Harness) -> None:
    resp = await harness.client.get(CM, headers={**ADMIN, "Audit-ID": "from-the-client"})
    assert resp.headers["Audit-Id"] == "from-the-client"
    assert [e["verb"] for e in harness.events() if e["auditID"] == "from-the-client"] == ["list"]


async def test_pod_security_audit_annotations(harness: Harness) -> None:
    label = {"metadata": {"labels": {"pod-security.kubernetes.io/audit": "restricted"}}}
    ns = await harness.client.patch("/api/v1/namespaces/default", data=json.dumps(label),
                                    headers={**ADMIN, "Content-Type": "application/merge-patch+json"})
    assert ns.status == 200
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    resp = await harness.client.post("/api/v1/namespaces/default/pods", json=pod, headers=ADMIN)
    assert resp.status == 201
    [event] = [e for e in harness.events() if e["auditID"] == resp.headers["Audit-Id"]]
    notes = event["annotations"]
    assert notes["pod-security.kubernetes.io/enforce-policy"] == "privileged:latest"
    assert notes["pod-security.kubernetes.io/audit-violations"].startswith(
        'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false')
    assert event["objectRef"]["name"] == "p"  # filled from the created object, at Metadata level too


async def test_a_server_without_auditing_still_sends_an_audit_id(tmp_path: Path) -> None:
    storage = open_storage("memory://")
    await storage.start()
    registry = build_registry(SCHEME, storage)
    auth = Authenticator(tokens={"admin-token": UserInfo("admin", ("system:masters", "system:authenticated"))},
                         signer=TokenSigner(b"k" * 32))
    app = build_app(config=ServerConfig(data_dir=tmp_path), registry=registry, authenticator=auth,
                    readiness=Readiness(()), token_signer=TokenSigner(b"k" * 32))
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        first = await client.get("/api/v1/namespaces/default/configmaps", headers=ADMIN)
        second = await client.get("/api/v1/namespaces/default/configmaps", headers=ADMIN)
        kept = await client.get("/api/v1/namespaces", headers={**ADMIN, "Audit-ID": "mine"})
        assert first.headers["Audit-Id"] and first.headers["Audit-Id"] != second.headers["Audit-Id"]
        assert kept.headers["Audit-Id"] == "mine"
    finally:
        await client.close()
        await registry.close()
        await storage.close()
