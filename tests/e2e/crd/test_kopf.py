"""A kopf operator that uses a CRD handles create, update, delete and a timer against pyk8s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import wait_until

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: kopfexamples.kopf.dev
spec:
  scope: Namespaced
  group: kopf.dev
  names:
    kind: KopfExample
    plural: kopfexamples
    singular: kopfexample
    shortNames: [kopfexes, kex]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
"""
EXAMPLE = """
apiVersion: kopf.dev/v1
kind: KopfExample
metadata:
  name: kopf-example-1
  namespace: default
spec:
  field: {field}
"""


@pytest.fixture(scope="module")
def operator(crd_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    crd_server.kubectl("apply", "-f", "-", input=CRD)
    crd_server.kubectl("wait", "--for=condition=Established", "crd/kopfexamples.kopf.dev", "--timeout=30s")
    log = tmp_path_factory.mktemp("kopf") / "kopf.log"
    env = dict(os.environ, KUBECONFIG=crd_server.kubeconfig)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "kopf", "run", "--standalone", "--namespace", "default",
                                 "--verbose", str(Path(__file__).with_name("kopf_operator.py"))],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield crd_server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]


def _status(srv: ServerProcess) -> dict:
    out = srv.kubectl("get", "kopfexample", "kopf-example-1", "-o", "json", check=False)
    return json.loads(out.stdout).get("status", {}) if out.returncode == 0 else {}


def test_create_update_timer_delete(operator: ServerProcess) -> None:
    operator.kubectl("apply", "-f", "-", input=EXAMPLE.format(field="one"))
    wait_until(lambda: _status(operator).get("create_fn"), timeout=30, what="the create handler")
    assert _status(operator)["create_fn"] == {"message": "created with field=one"}
    operator.kubectl("apply", "-f", "-", input=EXAMPLE.format(field="two"))
    # kopf keeps a field handler's result under "<id>/<field>"
    wait_until(lambda: _status(operator).get("update_fn/spec.field") == {"field": "two"}, timeout=30,
               what="the update handler")
    wait_until(lambda: int(_status(operator).get("ticks") or 0) >= 2, timeout=30, what="two timer ticks")
    operator.kubectl("delete", "kopfexample", "kopf-example-1", "--timeout=30s")
    wait_until(lambda: operator.kubectl("get", "configmap", "deleted-kopf-example-1", check=False).returncode == 0,
               timeout=30, what="the delete handler")
