"""ServerProcess: a second start of a running server is refused instead of orphaning the first."""

from __future__ import annotations

import subprocess

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
