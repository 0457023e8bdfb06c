"""``pyk8s server`` as a process: start-up message, kubectl against it, clean exits."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

import pytest

from pyk8s.apiserver import registry as registry_pkg
from pyk8s.testing.cluster import ServerProcess, server_binary

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


@pytest.fixture(scope="module")
def srv():
    with ServerProcess() as server:
        yield server


@needs_kubectl
def test_kubectl_version_discovery_and_whoami(srv):
    assert "export KUBECONFIG=" in srv.log_tail() and "kubectl get namespaces" in srv.log_tail()
    assert "Server Version: v1.32.0" in srv.kubectl("version").stdout
    resources = srv.kubectl("api-resources").stdout
    assert "deployments" in resources and "deploy" in resources
    assert "kubernetes-admin" in srv.kubectl("auth", "whoami").stdout
    assert srv.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"


@needs_kubectl
@pytest.mark.skipif(not hasattr(registry_pkg, "build_registry"), reason="registry not built yet")
def test_kubectl_get_namespaces(srv):
    out = srv.kubectl("get", "ns").stdout
    assert "default" in out


def test_sigterm_exits_zero_and_restart_reuses_credentials():
    server = ServerProcess()
    try:
        server.start()
        ca = server.client_config().ca_pem
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=15) == 0
        assert "Traceback" not in server.log_tail()
        server.proc = None
        server.restart()
        server._kubeconfig = None
        assert server.client_config().ca_pem == ca
        status, _ = server.request("GET", "/api/v1")
        assert status == 200
    finally:
        server.close()


def test_client_mistakes_are_one_line_errors(tmp_path):
    bad_port = subprocess.run([server_binary(), "server", "--data-dir", str(tmp_path), "--secure-port", "99999"],
                              capture_output=True, text=True, timeout=30)
    assert bad_port.returncode == 2 and "port out of range" in bad_port.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        start = time.monotonic()
        taken = subprocess.run([server_binary(), "server", "--data-dir", str(tmp_path), "--secure-port", str(port)],
                               capture_output=True, text=True, timeout=30)
    assert taken.returncode == 1 and "Traceback" not in taken.stderr
    assert "address already in use" in taken.stderr
    assert time.monotonic() - start < 20
    assert taken.stderr.count("\n") == 1  # the control plane never started, so nothing else was logged


@needs_kubectl
def test_test_harness_server_is_bare_by_default(srv):
    # ServerProcess keeps the embedded controller manager and scheduler off ($PYK8S_DISABLE):
    # nothing campaigns for a leader lease, nothing touches the objects tests create.
    time.sleep(1)
    # (the API server's own identity Lease is there, as upstream's is)
    assert srv.kubectl("get", "leases", "-n", "kube-system", "-o", "name",
                       "-l", "!apiserver.kubernetes.io/identity").stdout == ""
    assert "became leader" not in srv.log_tail(20000) and "starting controllers" not in srv.log_tail(20000)


def test_bad_control_plane_flags_are_one_line_errors(tmp_path):
    bad = subprocess.run([server_binary(), "server", "--data-dir", str(tmp_path), "--controllers", "nope"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1 and bad.stderr == "pyk8s server: unknown controllers: nope\n"
    timings = subprocess.run([server_binary(), "server", "--data-dir", str(tmp_path),
                              "--leader-elect-lease-duration=2s"], capture_output=True, text=True, timeout=30)
    assert timings.returncode == 1 and timings.stderr.count("\n") == 1 and "leader election" in timings.stderr
