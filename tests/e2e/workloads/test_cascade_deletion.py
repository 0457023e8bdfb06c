"""Cascading deletion through the real kubectl: the garbage collector and the namespace controller.

* ``kubectl delete deploy`` (background): the ReplicaSet and its pods follow;
* ``--cascade=foreground``: the Deployment waits, with a deletionTimestamp
  and the ``foregroundDeletion`` finalizer, until its dependents are gone;
* ``--cascade=orphan``: the ReplicaSet and pods stay, the ReplicaSet loses
  its ownerReference and keeps managing its pods;
* ``kubectl delete namespace``: Terminating while its content goes, then
  NotFound; every namespace gets its ``default`` ServiceAccount.

Pods run on simulated nodes, whose kubelet confirms a deletion after the
grace period capped at about a second.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from typing import Any

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import row_for, table_rows, wait_until

FOREGROUND = "foregroundDeletion"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:5]}"


def deployment(name: str, replicas: int, namespace: str = "default") -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.24"}]}}}})


def components_tail(cluster: ServerProcess) -> str:
    with open(os.path.join(cluster.root, "components.log"), errors="replace") as log:
        return log.read()[-4000:]


def wait_ready(cluster: ServerProcess, name: str, replicas: int, namespace: str = "default") -> None:
    want = f"{replicas}/{replicas}"

    def ready() -> bool:
        out = cluster.kubectl("get", "deploy", name, "-n", namespace, "--no-headers", check=False).stdout
        return out.split()[1:2] == [want]

    try:
        wait_until(ready, timeout=30, interval=0.3, what=f"deployment {namespace}/{name} READY {want}")
    except AssertionError as exc:
        state = cluster.kubectl("get", "deploy,rs,pods", "-n", namespace, "-o", "wide", check=False).stdout
        raise AssertionError(f"{exc}\n{state}\n{components_tail(cluster)}") from None


def items(cluster: ServerProcess, kinds: str, selector: str, namespace: str = "default") -> list[dict[str, Any]]:
    out = cluster.kubectl("get", kinds, "-n", namespace, "-l", selector, "-o", "json").stdout
    return json.loads(out)["items"]


def names(cluster: ServerProcess, kinds: str, selector: str, namespace: str = "default") -> list[str]:
    """``kind.group/name`` lines from ``kubectl get -o name``, sorted."""
    out = cluster.kubectl("get", kinds, "-n", namespace, "-l", selector, "-o", "name").stdout
    return sorted(out.split())


def created(cluster: ServerProcess, name: str, replicas: int) -> tuple[dict[str, Any], list[str], list[str]]:
    """Apply a Deployment, wait until it is ready; its object, ReplicaSet names and pod names."""
    cluster.kubectl("apply", "-f", "-", input=deployment(name, replicas))
    wait_ready(cluster, name, replicas)
    deploy = json.loads(cluster.kubectl("get", "deploy", name, "-o", "json").stdout)
    rs = names(cluster, "rs", f"app={name}")
    pods = names(cluster, "pods", f"app={name}")
    assert len(rs) == 1 and rs[0].startswith(f"replicaset.apps/{name}-"), rs
    assert len(pods) == replicas, pods
    return deploy, rs, pods


def assert_nothing_left(cluster: ServerProcess, name: str) -> None:
    def empty() -> bool:
        got = cluster.kubectl("get", "deploy,rs,pods", "-l", f"app={name}")
        return got.stdout == "" and "No resources found in default namespace." in got.stderr

    try:
        wait_until(empty, timeout=20, interval=0.3, what=f"no deploy/rs/pods with app={name}")
    except AssertionError as exc:
        state = cluster.kubectl("get", "deploy,rs,pods", "-l", f"app={name}", "-o", "wide", check=False).stdout
        raise AssertionError(f"{exc}\n{state}\n{components_tail(cluster)}") from None


def test_background_delete_takes_replicasets_and_pods(cluster: ServerProcess) -> None:
    name = unique("bg")
    _, rs, pods = created(cluster, name, 2)
    listed = cluster.kubectl("get", "rs,pods", "-l", f"app={name}", "-o", "name").stdout.split()
    assert sorted(listed) == sorted(rs + pods), listed

    out = cluster.kubectl("delete", "deploy", name)
    assert out.stdout.strip() == f'deployment.apps "{name}" deleted', out.stdout
    assert_nothing_left(cluster, name)


class Watch(threading.Thread):
    """``kubectl get KIND NAME -w --output-watch-events -o json`` parsed into (type, object) events."""

    def __init__(self, cluster: ServerProcess, *what: str) -> None:
        super().__init__(daemon=True)
        self.proc = cluster.kubectl_popen("get", *what, "-w", "--output-watch-events", "-o", "json")
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def run(self) -> None:
        decoder, buf = json.JSONDecoder(), ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            buf += line
            while buf.strip():
                try:
                    doc, end = decoder.raw_decode(buf.lstrip())
                except json.JSONDecodeError:
                    break
                buf = buf.lstrip()[end:]
                with self.lock:
                    self.events.append((doc["type"], doc["object"]))

    def snapshot(self) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return list(self.events)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(10)
        self.join(5)


def test_foreground_delete_waits_for_dependents(cluster: ServerProcess) -> None:
    name = unique("fg")
    deploy, rs, pods = created(cluster, name, 2)
    uid = deploy["metadata"]["uid"]
    # The dependents block their owner's deletion (set by the controllers).
    rs_obj = items(cluster, "rs", f"app={name}")[0]
    assert [(r["uid"], r.get("blockOwnerDeletion")) for r in rs_obj["metadata"]["ownerReferences"]] == [(uid, True)]

    watch = Watch(cluster, "deploy", name)
    watch.start()
    try:
        wait_until(lambda: watch.snapshot(), timeout=15, what="the deployment watch's first event")
        proc = cluster.kubectl_popen("delete", "deploy", name, "--cascade=foreground", "--timeout=40s")
        try:
            # One kubectl call lists the Deployment first, then its dependents: once the
            # Deployment is gone, whatever the later lists show outlived it.
            deadline = time.monotonic() + 40
            while True:
                listed = items(cluster, "deploy,rs,pods", f"app={name}")
                by_kind: dict[str, list[dict[str, Any]]] = {}
                for obj in listed:
                    by_kind.setdefault(obj["kind"], []).append(obj)
                if not by_kind.get("Deployment"):
                    assert not by_kind, f"deployment removed before its dependents: {listed}"
                    break
                for obj in by_kind.get("Deployment", []) + by_kind.get("ReplicaSet", []):
                    meta = obj["metadata"]
                    # The ReplicaSet blocks its owner, so the collector deletes it in the foreground too.
                    if meta.get("deletionTimestamp"):
                        assert FOREGROUND in meta.get("finalizers", []), meta
                assert time.monotonic() < deadline, f"deployment still there: {listed}\n{components_tail(cluster)}"
                time.sleep(0.1)
            stdout, stderr = proc.communicate(timeout=45)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, (stdout, stderr)
        assert stdout.strip() == f'deployment.apps "{name}" deleted', stdout
        events = wait_until(lambda: (ev := watch.snapshot()) and ev[-1][0] == "DELETED" and ev,
                            timeout=15, what="the deployment's DELETED event")
    finally:
        watch.stop()
    # Between its creation and its removal the Deployment waited: deletionTimestamp and
    # the foregroundDeletion finalizer, which the collector dropped last.
    waiting = [obj["metadata"] for kind, obj in events if kind == "MODIFIED" and obj["metadata"].get("deletionTimestamp")]
    assert waiting and FOREGROUND in waiting[0].get("finalizers", []), events
    assert all(m["uid"] == uid for m in waiting)
    assert [kind for kind, _ in events].count("DELETED") == 1
    got = cluster.kubectl("get", "deploy", name, check=False)
    assert got.returncode != 0 and f'deployments.apps "{name}" not found' in got.stderr, got.stderr
    assert_nothing_left(cluster, name)


def test_orphan_delete_keeps_replicaset_and_pods(cluster: ServerProcess) -> None:
    name = unique("orph")
    replicas = 3
    deploy, rs, pods = created(cluster, name, replicas)
    uid = deploy["metadata"]["uid"]
    rs_name = rs[0].split("/", 1)[1]
    owners = cluster.kubectl("get", "rs", rs_name, "-o", "jsonpath={.metadata.ownerReferences[*].uid}").stdout
    assert owners == uid, owners

    out = cluster.kubectl("delete", "deploy", name, "--cascade=orphan")
    assert out.stdout.strip() == f'deployment.apps "{name}" deleted', out.stdout
    # kubectl waited for the Deployment to go, which happens only after the
    # collector stripped the references and dropped the orphan finalizer.
    got = cluster.kubectl("get", "deploy", name, check=False)
    assert got.returncode != 0 and f'deployments.apps "{name}" not found' in got.stderr, got.stderr

    table = cluster.kubectl("get", "rs", "-l", f"app={name}").stdout
    assert table_rows(table)[0] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"], table
    assert row_for(table, rs_name)[1:4] == [str(replicas)] * 3, table
    assert len(table_rows(table)) == 2, table
    refs = cluster.kubectl("get", "rs", rs_name, "-o", "jsonpath={.metadata.ownerReferences}").stdout
    assert refs == "", refs
    rs_uid = cluster.kubectl("get", "rs", rs_name, "-o", "jsonpath={.metadata.uid}").stdout

    # The pods stay put, still owned by the ReplicaSet.
    time.sleep(1.0)  # give a wrongly cascading collector time to act
    assert names(cluster, "pods", f"app={name}") == pods
    for pod in items(cluster, "pods", f"app={name}"):
        assert not pod["metadata"].get("deletionTimestamp"), pod["metadata"]
        assert [(r["kind"], r["name"], r["uid"]) for r in pod["metadata"]["ownerReferences"]] == \
            [("ReplicaSet", rs_name, rs_uid)]

    # The orphaned ReplicaSet still keeps its replica count: a deleted pod is replaced.
    victim = pods[0].split("/", 1)[1]
    cluster.kubectl("delete", "pod", victim)

    def replaced() -> list[str] | None:
        now = [p for p in items(cluster, "pods", f"app={name}") if not p["metadata"].get("deletionTimestamp")]
        current = sorted(p["metadata"]["name"] for p in now)
        return current if len(current) == replicas and victim not in current else None

    current = wait_until(replaced, timeout=20, interval=0.3, what="a replacement pod")
    assert set(current) & {p.split("/", 1)[1] for p in pods} == {p.split("/", 1)[1] for p in pods[1:]}
    table = cluster.kubectl("get", "rs", rs_name, "--no-headers").stdout
    assert table.split()[1] == str(replicas), table

    cluster.kubectl("delete", "rs", rs_name)
    assert_nothing_left(cluster, name)


HELD = """
apiVersion: v1
kind: ConfigMap
metadata: {name: %(name)s, namespace: %(ns)s, finalizers: [example.com/hold]}
data: {k: v}
"""

JOB = """
apiVersion: batch/v1
kind: Job
metadata: {name: %(name)s, namespace: %(ns)s}
spec:
  template:
    spec:
      containers: [{name: main, image: busybox, command: ["sleep", "3600"]}]
      restartPolicy: Never
"""


def test_namespace_deletion_empties_it(cluster: ServerProcess) -> None:
    ns = unique("doomed")
    out = cluster.kubectl("create", "namespace", ns)
    assert out.stdout.strip() == f"namespace/{ns} created", out.stdout
    # Every namespace gets its default ServiceAccount from the controller.
    sa = wait_until(lambda: cluster.kubectl("get", "serviceaccounts", "-n", ns, check=False).stdout,
                    timeout=15, interval=0.2, what=f"serviceaccounts in {ns}")
    assert [row[0] for row in table_rows(sa)] == ["NAME", "default"], sa
    # ... as does every other namespace.
    def every_namespace() -> tuple[list[str], list[str]] | None:
        spaces = cluster.kubectl("get", "ns", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
        with_sa = cluster.kubectl("get", "sa", "-A", "--field-selector", "metadata.name=default",
                                  "-o", "jsonpath={.items[*].metadata.namespace}").stdout.split()
        return (spaces, with_sa) if sorted(spaces) == sorted(with_sa) else None

    spaces, _ = wait_until(every_namespace, timeout=10, interval=0.3, what="a default ServiceAccount everywhere")
    assert ns in spaces and {"default", "kube-system"} <= set(spaces), spaces

    app, cm, svc, job = unique("web"), unique("settings"), unique("front"), unique("batch")
    cluster.kubectl("apply", "-f", "-", input=deployment(app, 2, ns))
    cluster.kubectl("create", "configmap", cm, "-n", ns, "--from-literal=k=v")
    cluster.kubectl("create", "service", "clusterip", svc, "-n", ns, "--tcp=80:80")
    cluster.kubectl("apply", "-f", "-", input=JOB % {"name": job, "ns": ns})
    # Content that holds the namespace in Terminating until the test lets go (a finalizer), so
    # "Terminating with content left" is observed by construction, not by winning a race.
    held = unique("held")
    cluster.kubectl("apply", "-f", "-", input=HELD % {"name": held, "ns": ns})
    wait_ready(cluster, app, 2, ns)
    wait_until(lambda: cluster.kubectl("get", "pods", "-n", ns, "-l", f"job-name={job}", "-o", "name").stdout,
               timeout=20, interval=0.3, what="the job's pod")
    before = set(cluster.kubectl("get", "all,cm,sa", "-n", ns, "-o", "name").stdout.split())
    expected = {f"deployment.apps/{app}", f"configmap/{cm}", f"configmap/{held}", f"service/{svc}",
                f"job.batch/{job}", "serviceaccount/default"}
    assert expected <= before, before
    assert sum(1 for n in before if n.startswith("pod/")) == 3, before  # two web pods, one job pod

    out = cluster.kubectl("delete", "namespace", ns, "--wait=false")
    assert out.stdout.strip() == f'namespace "{ns}" deleted', out.stdout

    def terminating() -> bool:
        got = cluster.kubectl("get", "ns", ns, check=False)
        assert got.returncode == 0, f"namespace vanished before it was seen Terminating: {got.stderr}"
        return row_for(got.stdout, ns)[1] == "Terminating"

    wait_until(terminating, timeout=10, interval=0.1, what=f"namespace {ns} Terminating")
    # No new content while it terminates.
    late = unique("late")
    refused = cluster.kubectl("create", "configmap", late, "-n", ns, check=False)
    assert refused.returncode != 0, refused.stdout
    assert refused.stderr.strip() == (f'error: failed to create configmap: configmaps "{late}" is forbidden: unable '
                                      f'to create new content in namespace {ns} because it is being terminated'), \
        refused.stderr

    # Namespace first, then its content: once the namespace is gone, nothing may be left.
    deadline = time.monotonic() + 30
    seen_terminating = 0
    seen_with_content = 0
    while True:
        got = cluster.kubectl("get", "ns", ns, check=False)
        left = cluster.kubectl("get", "all,cm,sa,events", "-n", ns, "-o", "name").stdout.split()
        if got.returncode != 0:
            assert f'namespaces "{ns}" not found' in got.stderr, got.stderr
            assert left == [], f"namespace gone but content left: {left}"
            break
        assert row_for(got.stdout, ns)[1] == "Terminating", got.stdout
        seen_terminating += 1
        seen_with_content += bool(left)
        if left == [f"configmap/{held}"]:  # everything else went: release the last piece
            cluster.kubectl("patch", "configmap", held, "-n", ns, "--type=merge",
                            "-p", '{"metadata":{"finalizers":null}}')
        if time.monotonic() > deadline:
            detail = cluster.kubectl("get", "ns", ns, "-o", "json", check=False).stdout
            raise AssertionError(f"namespace {ns} still there; left {left}\n{detail}\n{components_tail(cluster)}")
        time.sleep(0.3)
    # The held ConfigMap kept the namespace Terminating with content until it was released.
    assert seen_terminating > 0 and seen_with_content > 0
    empty = cluster.kubectl("get", "all,cm", "-n", ns)
    assert empty.stdout == "" and f"No resources found in {ns} namespace." in empty.stderr, empty
    # Other namespaces keep their default ServiceAccount.
    assert cluster.kubectl("get", "sa", "default", "-n", "default", "-o", "name").stdout.strip() == \
        "serviceaccount/default"
