"""``pyk8s server`` as a process under hostile or careless use (issue 9): its open-file limit,
a second server on the same data dir, and the HTTPS listener on the real event loop (uvloop)."""

from __future__ import annotations

import os
import resource
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyk8s.testing.cluster import ServerProcess, free_port, server_binary


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerProcess]:
    """One server started with a soft open-file limit below the hard one (the common 1,024 where it fits)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 1024 if hard == resource.RLIM_INFINITY else min(1024, hard // 2)
    server = ServerProcess()
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))  # inherited by the server; ours again below
    try:
        server.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        yield server
    finally:
        server.close()


def _open_files_limits(pid: int) -> tuple[str, str]:
    with open(f"/proc/{pid}/limits") as f:
        line = next(x for x in f if x.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    return soft, hard


def test_soft_open_file_limit_is_raised_to_the_hard_limit(srv):
    soft, hard = _open_files_limits(srv.pid)
    assert soft == hard


def test_second_server_on_a_data_dir_in_use_fails_first_and_touches_nothing(srv):
    before = {name: (os.stat(os.path.join(srv.data_dir, name)).st_mtime_ns,
                     open(os.path.join(srv.data_dir, name), "rb").read())  # noqa: SIM115
              for name in ("admin.kubeconfig", "pki/ca.crt", "pki/apiserver.crt")}
    second = subprocess.run([server_binary(), "server", "--data-dir", srv.data_dir, "--secure-port", str(free_port())],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 1
    assert "Traceback" not in second.stderr
    assert second.stderr.count("\n") == 1, second.stderr
    assert f"data dir {srv.data_dir} is in use by another pyk8s server (pid {srv.pid})" in second.stderr
    after = {name: (os.stat(os.path.join(srv.data_dir, name)).st_mtime_ns,
                    open(os.path.join(srv.data_dir, name), "rb").read())  # noqa: SIM115
             for name in before}
    assert after == before
    status, _ = srv.request("GET", "/api/v1/namespaces")
    assert status == 200


def test_plain_http_on_the_https_port_gets_400(srv):
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    assert answer == b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"


def test_certificate_from_another_ca_gets_401_over_uvloop(srv):
    from pyk8s.util import pki

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        other = pki.create_ca(tmp / "o.crt", tmp / "o.key", "other")
        leaf = pki.issue_cert(other, tmp / "l.crt", tmp / "l.key", common_name="mallory",
                              organizations=("system:masters",))
        ctx = ssl.create_default_context(cadata=srv.client_config().ca_pem.decode())
        ctx.load_cert_chain(leaf.cert_path, leaf.key_path)
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw, \
                ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"reason":"Unauthorized"' in answer
