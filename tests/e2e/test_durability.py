"""Crash durability: SIGKILL the server while a client writes as fast as it can.

Every write the server acknowledged with a 2xx must survive the crashes, and
resourceVersions must never go backwards across restarts."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from pyk8s.testing.cluster import ServerProcess

pytestmark = pytest.mark.e2e

KILLS = 3
PATH = "/api/v1/namespaces/default/configmaps"


class Writer(threading.Thread):
    """Creates ConfigMaps back to back over one keep-alive connection, reconnecting on failure."""

    def __init__(self, srv: ServerProcess) -> None:
        super().__init__(daemon=True)
        self.srv = srv
        self.stop_flag = threading.Event()
        self.acked: list[tuple[str, int]] = []  # (name, resourceVersion) in ack order
        self.failures = 0
        self.unexpected: list[str] = []

    def _connect(self) -> http.client.HTTPSConnection:
        kc = self.srv.client_config()
        return http.client.HTTPSConnection("127.0.0.1", self.srv.port, context=kc.ssl_context(), timeout=5)

    def run(self) -> None:
        conn: http.client.HTTPSConnection | None = None
        i = 0
        while not self.stop_flag.is_set():
            name = f"dur-{i}"
            body = json.dumps(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"i": str(i)}}
            )
            try:
                if conn is None:
                    conn = self._connect()
                headers = {"Content-Type": "application/json", **self.srv.client_config().headers()}
                conn.request("POST", PATH, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                # Server down or restarting; the write may or may not have landed.
                self.failures += 1
                if conn is not None:
                    conn.close()
                conn = None
                i += 1  # never reuse a name whose fate is unknown
                time.sleep(0.05)
                continue
            if 200 <= resp.status < 300:
                self.acked.append((name, int(json.loads(data)["metadata"]["resourceVersion"])))
            elif resp.status not in (409, 429, 500, 503):
                self.unexpected.append(f"{resp.status}: {data[:200]!r}")
            i += 1
        if conn is not None:
            conn.close()


def test_acknowledged_writes_survive_sigkill(server: ServerProcess) -> None:
    writer = Writer(server)
    writer.start()
    try:
        for _ in range(KILLS):
            before = len(writer.acked)
            deadline = time.monotonic() + 10
            while len(writer.acked) < before + 20 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(writer.acked) >= before + 20, f"writer made no progress:\n{server.log_tail()}"
            server.kill()
            server.restart()
        time.sleep(0.5)
    finally:
        writer.stop_flag.set()
        writer.join(timeout=15)
    assert not writer.unexpected, writer.unexpected[:5]
    assert writer.failures > 0, "the kills never interrupted a write"

    status, data = server.request("GET", PATH)
    assert status == 200
    listing = json.loads(data)
    stored = {item["metadata"]["name"]: int(item["metadata"]["resourceVersion"]) for item in listing["items"]}
    missing = [name for name, _ in writer.acked if name not in stored]
    assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
    for name, rv in writer.acked:
        assert stored[name] == rv, f"{name}: stored rv {stored[name]} != acknowledged {rv}"
    rvs = [rv for _, rv in writer.acked]
    assert rvs == sorted(rvs) and len(set(rvs)) == len(rvs), "resourceVersions went backwards or repeated"
    assert int(listing["metadata"]["resourceVersion"]) >= max(rvs)
