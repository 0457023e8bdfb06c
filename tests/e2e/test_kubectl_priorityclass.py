"""PriorityClasses through the real kubectl: the built-in classes, `kubectl create
priorityclass`, pod priority resolution and the Priority admission's refusals."""

from __future__ import annotations

import pytest

from pyk8s.testing.cluster import ServerProcess

from .helpers import row_for, table_rows

pytestmark = pytest.mark.e2e


def pod_manifest(name: str, class_name: str) -> str:
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  priorityClassName: {class_name}
  containers:
  - name: main
    image: nginx:1.24
"""


def test_system_classes_listed(server: ServerProcess) -> None:
    out = server.kubectl("get", "priorityclasses").stdout
    rows = table_rows(out)
    assert rows[0] == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    cluster = row_for(out, "system-cluster-critical")
    node = row_for(out, "system-node-critical")
    assert cluster[1:3] == ["2000000000", "false"] and cluster[4] == "PreemptLowerPriority"
    assert node[1:3] == ["2000001000", "false"] and node[4] == "PreemptLowerPriority"
    # The short name works too.
    assert "system-node-critical" in server.kubectl("get", "pc", "-o", "name").stdout


def test_create_priorityclass_and_resolve_pod_priority(server: ServerProcess) -> None:
    created = server.kubectl("create", "priorityclass", "high", "--value=1000", "--description=x")
    assert created.stdout.strip() == "priorityclass.scheduling.k8s.io/high created"
    row = row_for(server.kubectl("get", "pc", "high").stdout, "high")
    assert row[1:3] == ["1000", "false"] and row[4] == "PreemptLowerPriority"
    assert server.kubectl("get", "pc", "high", "-o", "jsonpath={.description}").stdout == "x"
    server.kubectl("create", "-f", "-", input=pod_manifest("prio-pod", "high"))
    got = server.kubectl("get", "pod", "prio-pod", "-o",
                         "jsonpath={.spec.priority} {.spec.preemptionPolicy}").stdout
    assert got == "1000 PreemptLowerPriority"
    # Pods that name no class get priority 0.
    server.kubectl("run", "plain-pod", "--image=nginx:1.24")
    assert server.kubectl("get", "pod", "plain-pod", "-o", "jsonpath={.spec.priority}").stdout == "0"


def test_unknown_class_refused(server: ServerProcess) -> None:
    res = server.kubectl("create", "-f", "-", input=pod_manifest("lost-pod", "missing"), check=False)
    assert res.returncode == 1
    assert ('Error from server (Forbidden): error when creating "STDIN": pods "lost-pod" is forbidden: '
            "no PriorityClass with name missing was found") in res.stderr
    assert server.kubectl("get", "pod", "lost-pod", check=False).returncode == 1


def test_reserved_names_and_ceiling(server: ServerProcess) -> None:
    res = server.kubectl("create", "priorityclass", "system-mine", "--value=5", check=False)
    assert res.returncode == 1
    assert ("metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use "
            "only. error: system-mine is not a known system priority class") in res.stderr
    res = server.kubectl("create", "priorityclass", "too-high", "--value=1000000001", check=False)
    assert res.returncode == 1
    assert "value: Forbidden: maximum allowed value of a user defined priority is 1000000000" in res.stderr
    res = server.kubectl("delete", "pc", "system-node-critical", check=False)
    assert res.returncode == 1
    assert ('Error from server (Forbidden): priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: '
            "this is a system priority class and cannot be deleted") in res.stderr


def test_second_global_default_refused(server: ServerProcess) -> None:
    server.kubectl("create", "priorityclass", "fallback", "--value=10", "--global-default=true")
    try:
        assert row_for(server.kubectl("get", "pc", "fallback").stdout, "fallback")[2] == "true"
        res = server.kubectl("create", "priorityclass", "fallback-2", "--value=20", "--global-default=true",
                             check=False)
        assert res.returncode == 1
        # kubectl's typed create wraps the server's message in its own prefix.
        assert res.stderr.strip() == (
            'error: failed to create priorityclass: priorityclasses.scheduling.k8s.io "fallback-2" is forbidden: '
            "PriorityClass fallback is already marked as default. Only one default can exist")
        server.kubectl("run", "defaulted-pod", "--image=nginx:1.24")
        got = server.kubectl("get", "pod", "defaulted-pod", "-o",
                             "jsonpath={.spec.priorityClassName} {.spec.priority}").stdout
        assert got == "fallback 10"
    finally:
        server.kubectl("delete", "pc", "fallback", check=False)
