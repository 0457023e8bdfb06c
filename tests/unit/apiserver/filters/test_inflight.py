"""Which requests the in-flight bounds leave out (upstream's long-running requests), and that the rest count."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from pyk8s.apiserver.filters.inflight import inflight_middleware
from pyk8s.apiserver.requestinfo import long_running, request_info
from pyk8s.machinery.errors import StatusError


@pytest.mark.parametrize(("path", "long"), [
    ("/api/v1/namespaces/default/configmaps?watch=true", True),
    ("/api/v1/namespaces/default/configmaps?watch=1", True),
    ("/api/v1/watch/namespaces/default/configmaps", True),
    ("/apis/apps/v1/watch/deployments", True),
    ("/api/v1/namespaces/default/pods/p/log", True),
    ("/api/v1/namespaces/default/pods/p/exec", True),
    ("/api/v1/namespaces/default/pods/p/attach", True),
    ("/api/v1/namespaces/default/pods/p/portforward", True),
    ("/api/v1/nodes/n/proxy", True),
    ("/api/v1/namespaces/default/configmaps?watch=false", False),
    ("/api/v1/namespaces/watch", False),  # a namespace named "watch"
    ("/api/v1/namespaces/default/pods/log", False),  # a pod named "log"
    ("/api/v1/namespaces/default/pods/p/status", False),
    ("/apis/apps/v1/namespaces/default/deployments/d/scale", False),
    ("/version", False),
    ("/api/v1/namespaces/default/pods/p", False),  # no long-running word anywhere: the quick answer
    ("/api/v1/proxy/nodes/n", True),
    ("/api/v1/namespaces/logs/pods/exec/log", True),  # the words as names too
])
def test_long_running_requests_as_upstream(path: str, long: bool) -> None:
    request = make_mocked_request("GET", path)
    assert long_running(request_info(request), "GET") is long


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_watch_parameter_on_a_write_is_not_long_running(method: str) -> None:
    # Upstream's verb for these is create/update/patch/delete whatever the query says.
    request = make_mocked_request(method, "/api/v1/namespaces/default/configmaps?watch=true")
    assert long_running(request_info(request), method) is False


async def test_a_write_with_watch_true_counts_against_the_mutating_bound() -> None:
    middleware = inflight_middleware(max_requests=10, max_mutating=1)
    release = asyncio.Event()

    async def slow(_request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(status=201)

    first = asyncio.create_task(middleware(make_mocked_request("POST", "/api/v1/namespaces/default/configmaps"), slow))
    await asyncio.sleep(0)
    with pytest.raises(StatusError) as refused:
        await middleware(make_mocked_request("POST", "/api/v1/namespaces/default/configmaps?watch=true"), slow)
    assert refused.value.code == 429
    release.set()
    assert (await first).status == 201
