"""Control-plane e2e cluster: API server, controller manager, scheduler and simulated nodes as subprocesses.

The scheduler has no CLI command yet, so it runs ``KubeScheduler`` through ``python -c``.
Every process is stopped by PID at teardown.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pyk8s.testing.cluster import ServerProcess

SCHEDULER_SCRIPT = (
    "import asyncio, sys\n"
    "from pyk8s.client.rest import Client\n"
    "from pyk8s.scheduler.scheduler import KubeScheduler\n"
    "async def main():\n"
    "    await KubeScheduler(Client.from_kubeconfig(sys.argv[1])).run()\n"
    "asyncio.run(main())\n"
)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture(scope="module")
def cluster() -> Iterator[ServerProcess]:
    server = ServerProcess().start()
    procs: list[subprocess.Popen[bytes]] = []
    log = open(os.path.join(server.root, "components.log"), "ab")  # noqa: SIM115 - closed below
    try:
        procs.append(subprocess.Popen([sys.executable, "-c", SCHEDULER_SCRIPT, server.kubeconfig], stdout=log, stderr=log))
        procs.append(subprocess.Popen([sys.executable, "-m", "pyk8s", "controller-manager", "--kubeconfig",
                                       server.kubeconfig], stdout=log, stderr=log))
        procs.append(subprocess.Popen([sys.executable, "-m", "pyk8s", "agent", "--kubeconfig", server.kubeconfig,
                                       "--simulate", "2"], stdout=log, stderr=log))
        yield server
    finally:
        for proc in procs:
            _stop(proc)
        log.close()
        server.close()
