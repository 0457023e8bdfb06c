"""One ``pyk8s server`` (no kubelet) for the webhook and aggregation e2e tests, and the two test
processes: a TLS admission webhook (``pyk8s.testing.webhookserver``) and a TLS extension API server
(``pyk8s.testing.aggregatedserver``), both on 127.0.0.1 and ended by PID."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import wait_until


@dataclass
class HelperProcess:
    proc: subprocess.Popen[bytes] | None
    directory: Path
    module: str
    args: tuple[str, ...]
    port: int = 0

    @property
    def ca_pem(self) -> bytes:
        return (self.directory / "ca.crt").read_bytes()

    def start(self, *, port: int = 0) -> HelperProcess:
        (self.directory / "port").unlink(missing_ok=True)
        env = {**os.environ, "PYK8S_AGGREGATED_PORT": str(port)}
        self.proc = subprocess.Popen([sys.executable, "-m", self.module, str(self.directory), *self.args], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: (self.directory / "port").exists(), timeout=30, what=f"{self.module} listening")
        self.port = int((self.directory / "port").read_text())
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="package")
def webhook_cluster(server_available: None) -> Iterator[ServerProcess]:
    with ServerProcess() as srv:
        yield srv


@pytest.fixture(scope="package")
def webhook_process() -> Iterator[HelperProcess]:
    with tempfile.TemporaryDirectory(prefix="pyk8s-webhook-") as d:
        proc = HelperProcess(None, Path(d), "pyk8s.testing.webhookserver", ("webhook.wh-e2e.svc",))
        try:
            yield proc.start()
        finally:
            proc.stop()


@pytest.fixture(scope="package")
def aggregated_process(webhook_cluster: ServerProcess) -> Iterator[HelperProcess]:
    front_proxy_ca = Path(webhook_cluster.data_dir) / "pki" / "front-proxy-ca.crt"
    wait_until(front_proxy_ca.exists, timeout=30, what="the front-proxy CA")
    with tempfile.TemporaryDirectory(prefix="pyk8s-aggregated-") as d:
        proc = HelperProcess(None, Path(d), "pyk8s.testing.aggregatedserver", (str(front_proxy_ca),))
        try:
            yield proc.start()
        finally:
            proc.stop()
