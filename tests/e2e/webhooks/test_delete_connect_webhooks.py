"""Admission webhooks on DELETE and CONNECT, end to end: the webhook (a TLS server in this test's own thread,
recording the AdmissionReviews it gets) sees a deletion with the stored object as ``oldObject`` and no
``object``, and an exec or a proxy request with its options (``PodExecOptions``, ...) as ``object``; its
refusal stops the deletion or the connection with upstream's message."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.webhookserver import WebhookServer
from tests.e2e.helpers import wait_until

pytestmark = pytest.mark.e2e
NS = "wh-delete-connect"
Obj = dict[str, Any]


def refuse_protected(path: str, request: Obj) -> Obj:
    """As the validating webhook, refuse deleting objects labelled ``protected`` and exec'ing ``forbidden``;
    allow the rest."""
    if path != "/validate":
        return {"allowed": True}
    old = request.get("oldObject") or {}
    if request["operation"] == "DELETE" and "protected" in ((old.get("metadata") or {}).get("labels") or {}):
        return {"allowed": False, "status": {"code": 403, "message": "this object is protected"}}
    if request["operation"] == "CONNECT" and "forbidden" in ((request.get("object") or {}).get("command") or []):
        return {"allowed": False, "status": {"message": "no forbidden commands"}}
    if request["operation"] == "DELETE" and (old.get("metadata") or {}).get("name") == "drop-me":
        return {"allowed": True, "warnings": ["drop-me is going"]}
    if request["operation"] == "CONNECT" and request.get("subResource") == "proxy":
        return {"allowed": True, "warnings": ["proxied through the API server"]}
    return {"allowed": True}


class ThreadedWebhook:
    """``WebhookServer`` on an event loop of its own thread, so a synchronous test can read its reviews."""

    def __init__(self) -> None:
        self.server = WebhookServer(refuse_protected)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ThreadedWebhook:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


def _apply(srv: ServerProcess, doc: Obj) -> None:
    srv.kubectl("apply", "-f", "-", input=json.dumps(doc))


def _config(kind: str, name: str, hook: WebhookServer, path: str) -> Obj:
    rules = [{"operations": ["DELETE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]},
             {"operations": ["CONNECT"], "apiGroups": [""], "apiVersions": ["v1"],
              "resources": ["pods/exec", "pods/attach", "services/proxy"]}]
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind, "metadata": {"name": name},
            "webhooks": [{"name": f"{name}.pyk8s.test", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                          "clientConfig": {"url": hook.url(path), "caBundle": hook.ca_bundle}, "rules": rules,
                          "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NS}}}]}


@pytest.fixture(scope="module")
def hooked(webhook_cluster: ServerProcess) -> Iterator[tuple[ServerProcess, ThreadedWebhook]]:
    srv = webhook_cluster
    with ThreadedWebhook() as hook:
        _apply(srv, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        # A bare server runs no service-account controller: the pod's account is made here.
        _apply(srv, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": NS}})
        _apply(srv, _config("ValidatingWebhookConfiguration", "dc-validate", hook.server, "/validate"))
        _apply(srv, _config("MutatingWebhookConfiguration", "dc-mutate", hook.server, "/mutate"))
        try:
            yield srv, hook
        finally:
            srv.kubectl("delete", "validatingwebhookconfiguration", "dc-validate", check=False)
            srv.kubectl("delete", "mutatingwebhookconfiguration", "dc-mutate", check=False)


def _requests(hook: ThreadedWebhook, operation: str, name: str) -> list[Obj]:
    return [r["request"] for r in list(hook.server.reviews)
            if r["request"]["operation"] == operation and r["request"]["name"] == name]


def test_delete_is_admitted_with_the_old_object(hooked: tuple[ServerProcess, ThreadedWebhook]) -> None:
    srv, hook = hooked
    srv.kubectl("create", "configmap", "keep-me", "-n", NS, "--from-literal=a=b")
    srv.kubectl("label", "configmap", "keep-me", "-n", NS, "protected=yes")
    out = srv.kubectl("delete", "configmap", "keep-me", "-n", NS, check=False)
    assert out.returncode != 0
    assert 'admission webhook "dc-validate.pyk8s.test" denied the request: this object is protected' in out.stderr
    assert srv.kubectl("get", "configmap", "keep-me", "-n", NS, check=False).returncode == 0

    srv.kubectl("create", "configmap", "drop-me", "-n", NS, "--from-literal=a=b")
    srv.kubectl("delete", "configmap", "drop-me", "-n", NS, "--dry-run=server")
    out = srv.kubectl("delete", "configmap", "drop-me", "-n", NS)
    assert "Warning: drop-me is going" in out.stderr  # a webhook's warning reaches the client
    seen = _requests(hook, "DELETE", "drop-me")
    assert len(seen) == 4  # the mutating and the validating webhook, for the dry run and the deletion
    assert sorted(r["dryRun"] for r in seen) == [False, False, True, True]
    for req in seen:
        assert req["object"] is None
        assert req["oldObject"]["metadata"]["name"] == "drop-me" and req["oldObject"]["data"] == {"a": "b"}
        assert req["namespace"] == NS
        assert req["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
        assert req["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
        assert req["options"]["kind"] == "DeleteOptions"
        assert req["userInfo"]["username"]  # the requester, as authenticated
    # A collection delete asks for each object.
    srv.kubectl("create", "configmap", "coll-1", "-n", NS, "--from-literal=a=b")
    srv.kubectl("delete", "configmaps", "-n", NS, "--field-selector=metadata.name=coll-1")
    assert _requests(hook, "DELETE", "coll-1")


def test_connect_is_admitted_with_the_options(hooked: tuple[ServerProcess, ThreadedWebhook]) -> None:
    srv, hook = hooked
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "target", "namespace": NS},
           "spec": {"containers": [{"name": "c", "image": "registry.invalid/c:1"}]}}
    _apply(srv, pod)
    status, body = srv.request("POST", f"/api/v1/namespaces/{NS}/pods/target/exec?command=forbidden&command=now"
                                       "&stdout=true&container=c")
    assert status == 403
    assert json.loads(body)["message"] == ('admission webhook "dc-validate.pyk8s.test" denied the request: '
                                           'no forbidden commands')
    status, body = srv.request("POST", f"/api/v1/namespaces/{NS}/pods/target/exec?command=ls&stdout=true")
    assert status != 403  # admitted: what follows is the exec's own answer (this pod has no node)
    assert "admission webhook" not in body.decode()
    execs = _requests(hook, "CONNECT", "target")
    ls = [r for r in execs if r["object"].get("command") == ["ls"]]
    assert len(ls) == 2  # mutating and validating
    for req in ls:
        assert req["object"] == {"kind": "PodExecOptions", "apiVersion": "v1", "stdout": True, "command": ["ls"]}
        assert req["oldObject"] is None and "options" not in req
        assert req["subResource"] == "exec" and req["namespace"] == NS
        assert req["kind"] == {"group": "", "version": "v1", "kind": "PodExecOptions"}
        assert req["resource"] == {"group": "", "version": "v1", "resource": "pods"}

    _apply(srv, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "front", "namespace": NS},
                 "spec": {"ports": [{"port": 80}]}})
    out = srv.kubectl("get", "--raw", f"/api/v1/namespaces/{NS}/services/front/proxy/healthz", check=False)
    assert "Warning: proxied through the API server" in out.stderr  # with the 503 (no endpoints)
    proxied = wait_until(lambda: _requests(hook, "CONNECT", "front"), timeout=30, what="the proxy review")
    assert proxied[0]["object"] == {"kind": "ServiceProxyOptions", "apiVersion": "v1", "path": "/healthz"}
    assert proxied[0]["subResource"] == "proxy"
