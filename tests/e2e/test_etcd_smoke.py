"""The kubectl smoke subset (apply, get, describe, delete, watch) on the real
etcd backend (``--etcd-servers``); skipped when the etcd binary is missing."""

from __future__ import annotations

import os
import signal

import pytest

from pyk8s.testing.cluster import ServerProcess

from . import manifests
from .helpers import read_output_until, row_for, rows_named, table_rows

pytestmark = [pytest.mark.e2e, pytest.mark.etcd]


def test_apply_get_describe_delete(etcd_server: ServerProcess) -> None:
    srv = etcd_server
    out = srv.kubectl("apply", "-f", "-", input=manifests.bundle("e")).stdout
    assert "deployment.apps/web-e created" in out and "configmap/conf-e created" in out
    again = srv.kubectl("apply", "-f", "-", input=manifests.bundle("e", replicas=1)).stdout
    assert "deployment.apps/web-e configured" in again and "configmap/conf-e unchanged" in again
    rows = srv.kubectl("get", "deploy").stdout
    assert table_rows(rows)[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert row_for(rows, "web-e")[1].endswith("/1")
    desc = srv.kubectl("describe", "deployment", "web-e").stdout
    assert "app=nginx-e" in desc and "1 desired" in desc
    out = srv.kubectl("delete", "-f", "-", input=manifests.bundle("e")).stdout
    assert 'deployment.apps "web-e" deleted' in out
    gone = srv.kubectl("get", "deploy", "web-e", check=False)
    assert gone.returncode == 1 and "NotFound" in gone.stderr


def test_watch(etcd_server: ServerProcess) -> None:
    srv = etcd_server
    srv.kubectl("create", "configmap", "etcd-w", "--from-literal=a=1")
    proc = srv.kubectl_popen("get", "configmap", "etcd-w", "-w")
    try:
        read_output_until(proc, lambda s: rows_named(s, "etcd-w") >= 1, timeout=15)
        srv.kubectl("label", "configmap", "etcd-w", "x=y")
        read_output_until(proc, lambda s: rows_named(s, "etcd-w") >= 1, timeout=15)  # the MODIFIED row
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
