"""Which requests the in-flight bounds leave out: upstream's long-running requests."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from pyk8s.apiserver.filters.inflight import is_long_running


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
    assert is_long_running(make_mocked_request("GET", path)) is long
