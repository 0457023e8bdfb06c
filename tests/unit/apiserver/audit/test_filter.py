"""The audit filters on a bare aiohttp app: the Panic stage, and nothing audited for an unauthenticated
request the policy does not name."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from pyk8s.apiserver.audit.backend import LogBackend
from pyk8s.apiserver.audit.filter import Auditor
from pyk8s.apiserver.audit.policy import parse
from pyk8s.apiserver.authentication.user import USER_KEY, UserInfo
from pyk8s.apiserver.filters.errors import status_middleware


@web.middleware
async def fake_authn(request: web.Request, handler):  # type: ignore[no-untyped-def]
    request[USER_KEY] = UserInfo("u", ("system:authenticated",))
    return await handler(request)


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("kaput")


async def test_an_unexpected_error_is_a_panic_event(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    auditor = Auditor(parse({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Metadata"}]}),
                      LogBackend(str(log)))
    app = web.Application(middlewares=auditor.install([status_middleware, fake_authn], fake_authn))
    app.on_response_prepare.append(auditor.on_prepare)
    app.router.add_get("/api/v1/pods", boom)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        resp = await client.get("/api/v1/pods")
        assert resp.status == 500 and resp.headers["Audit-Id"]
    finally:
        await client.close()
    auditor.close()
    stages = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["stage"] for e in stages] == ["RequestReceived", "Panic"]
    assert stages[1]["responseStatus"] == {"metadata": {}, "status": "Failure", "reason": "InternalError",
                                           "message": "APIServer panic'd: kaput", "code": 500}
    assert stages[1]["auditID"] == resp.headers["Audit-Id"]
