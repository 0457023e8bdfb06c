"""CRDs survive a restart: a server restarted on the same data dir serves its CRDs again (the
controller re-lists them) with their objects, established, before a client needs them."""

from __future__ import annotations

import json

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.crd.test_kubectl_crd import CRD, _crontab
from tests.e2e.helpers import wait_until


def test_crds_are_served_after_a_restart(server_available: None) -> None:
    with ServerProcess() as srv:
        srv.kubectl("apply", "-f", "-", input=CRD)
        srv.kubectl("wait", "--for=condition=Established", "crd/crontabs.stable.example.com", "--timeout=30s")
        wait_until(lambda: srv.kubectl("get", "crontabs", check=False).returncode == 0, timeout=10,
                   what="crontabs to be served")
        srv.kubectl("apply", "-f", "-", input=_crontab("survivor"))
        srv.restart()
        wait_until(lambda: srv.kubectl("get", "crontab", "survivor", check=False).returncode == 0, timeout=10,
                   what="crontabs to be served again")
        obj = json.loads(srv.kubectl("get", "crontab", "survivor", "-o", "json").stdout)
        assert obj["spec"]["replicas"] == 1
