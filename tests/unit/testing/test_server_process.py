"""ServerProcess: a second start of a running server is refused instead of orphaning the first; requests share
one TLS context per loaded kubeconfig."""

from __future__ import annotations

import subprocess
import urllib.request

import pytest

from pyk8s.testing.cluster import ServerProcess


def test_a_running_server_process_refuses_a_second_start() -> None:
    server = ServerProcess()
    server.proc = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
    finally:
        server.proc.kill()
        server.proc.wait()
        server.proc = None
        server.close()


class _Config:
    server = "https://127.0.0.1:6443"

    def __init__(self) -> None:
        self.contexts = 0

    def ssl_context(self) -> object:
        self.contexts += 1
        return object()

    def headers(self) -> dict[str, str]:
        return {}


class _Response:
    status = 200

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read(self) -> bytes:
        return b"ok"


def test_requests_reuse_the_tls_context_until_the_kubeconfig_is_reloaded(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[object] = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda req, timeout, context: used.append(context) or _Response())
    server = ServerProcess()
    try:
        first = _Config()
        server._kubeconfig = first  # type: ignore[assignment]
        assert server.request("GET", "/readyz") == (200, b"ok")
        assert server.request("GET", "/livez") == (200, b"ok")
        assert first.contexts == 1 and used[0] is used[1]
        second = _Config()  # a restarted server rewrote its kubeconfig: a new CA, so a new context
        server._kubeconfig = second  # type: ignore[assignment]
        server.request("GET", "/readyz")
        assert second.contexts == 1 and used[2] is not used[0]
    finally:
        server.close()
