"""ServerProcess itself, against a stand-in server: readiness through the
kubeconfig's CA and token, SIGKILL / restart / stop by PID, cleanup."""

from __future__ import annotations

import os
import sys

import pytest

from pyk8s.client.kubeconfig import load_kubeconfig
from pyk8s.testing.cluster import ServerProcess

pytestmark = pytest.mark.e2e

FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_server.py")


class FakeServer(ServerProcess):
    def command(self) -> list[str]:
        return [sys.executable, FAKE, *super().command()[1:]]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_start_kill_restart_stop_close() -> None:
    srv = FakeServer(start_timeout=20)
    with srv:
        assert srv.ready()
        assert srv.request("GET", "/readyz") == (200, b"ok")
        kc = load_kubeconfig(srv.kubeconfig)
        assert kc.server == f"https://127.0.0.1:{srv.port}" and kc.token == "secret" and kc.ca_pem
        first = srv.pid
        assert first is not None
        srv.kill()
        assert srv.pid is None and not alive(first)
        srv.restart()  # the stand-in writes a new CA: the helper must re-read the kubeconfig
        second = srv.pid
        assert second is not None and second != first and srv.ready()
        srv.stop()
        assert not alive(second)
        srv.start()
        assert srv.ready()
        root, last = srv.root, srv.pid
    assert last is not None and not alive(last)
    assert not os.path.exists(root)


def test_kubectl_is_isolated_per_server() -> None:
    with FakeServer(start_timeout=20) as srv:
        out = srv.kubectl("version", "--client")
        assert "Client Version: v1.32" in out.stdout
        env = srv.kubectl_env()
        assert env["HOME"] == srv.home and env["KUBECONFIG"] == srv.kubeconfig
        args = srv.kubectl_args("get", "pods")
        assert f"--cache-dir={srv.cache_dir}" in args and f"--kubeconfig={srv.kubeconfig}" in args


def test_start_failure_reports_log() -> None:
    srv = ServerProcess(extra_args=["--no-such-flag-xyz"], start_timeout=20)
    srv.command = lambda: [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="exited with 3"):
            srv.start()
        assert "boom" in srv.log_tail()
    finally:
        srv.close()
