"""The seeds' StatefulSet (headless Service ``nginx``, StatefulSet ``web`` with volumeClaimTemplates) end to end.

There is no dynamic provisioner, so the test first makes hostPath
PersistentVolumes of the claims' StorageClass; the PV binder binds the
claims and the scheduler (VolumeBinding) then places the pods on the
simulated nodes.  A ``kubectl get pods -w`` runs throughout: ordering is
checked on its event stream, not only on end states.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyk8s.testing.cluster import ServerProcess

SEED = """
apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  ports:
  - port: 80
    name: web
  clusterIP: None
  selector:
    app: nginx
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: nginx # has to match .spec.template.metadata.labels
  serviceName: "nginx"
  replicas: 3 # by default is 1
  template:
    metadata:
      labels:
        app: nginx # has to match .spec.selector.matchLabels
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: k8s.gcr.io/nginx-slim:0.8
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ "ReadWriteOnce" ]
      storageClassName: "my-storage-class"
      resources:
        requests:
          storage: 1Gi
"""

PV = """
apiVersion: v1
kind: PersistentVolume
metadata:
  name: sts-pv-{i}
spec:
  capacity: {{storage: 1Gi}}
  accessModes: [ReadWriteOnce]
  storageClassName: my-storage-class
  hostPath: {{path: /tmp/pyk8s-e2e-sts-pv-{i}}}
"""


class PodWatch(threading.Thread):
    """``kubectl get pods -w --output-watch-events -o json`` parsed into (type, pod) events."""

    def __init__(self, cluster: ServerProcess, selector: str) -> None:
        super().__init__(daemon=True)
        self.proc = cluster.kubectl_popen("get", "pods", "-l", selector, "-w", "--output-watch-events", "-o", "json")
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

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(10)
        self.join(5)

    def snapshot(self) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return list(self.events)


def ready(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in (pod.get("status") or {}).get("conditions") or [])


def first(events: list[tuple[str, dict[str, Any]]], pred: Callable[[str, dict[str, Any]], bool]) -> int:
    return next(i for i, (kind, pod) in enumerate(events) if pred(kind, pod))


def name_is(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda pod: pod["metadata"]["name"] == name


def wait_for(check: Callable[[], Any], timeout: float = 40, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def sts_status(cluster: ServerProcess) -> dict[str, Any]:
    return json.loads(cluster.kubectl("get", "sts", "web", "-o", "json").stdout).get("status") or {}


@pytest.fixture(scope="module")
def watch(cluster: ServerProcess) -> Iterator[PodWatch]:
    for i in range(4):
        cluster.kubectl("apply", "-f", "-", input=PV.format(i=i))
    w = PodWatch(cluster, "app in (nginx, sentinel)")
    w.start()
    try:
        # Only once the watch shows a sentinel pod is it known to be running: start from there.
        cluster.kubectl("run", "sentinel", "--image=busybox", "--labels=app=sentinel")
        wait_for(lambda: any(p["metadata"]["name"] == "sentinel" for _, p in w.snapshot()), what="the watch")
        cluster.kubectl("delete", "pod", "sentinel", "--wait=false")
        yield w
    finally:
        w.stop()


def test_seed_statefulset_ordered_with_claims_scaling_and_partitioned_update(cluster: ServerProcess,
                                                                             watch: PodWatch) -> None:
    cluster.kubectl("apply", "-f", "-", input=SEED)
    wait_for(lambda: sts_status(cluster).get("readyReplicas") == 3, what="web 3/3")
    assert cluster.kubectl("get", "sts", "web", "--no-headers").stdout.split()[1] == "3/3"
    events = watch.snapshot()
    # Strict order: web-k appears only after web-(k-1) was seen Running and Ready.
    for k in (1, 2):
        created = first(events, lambda kind, p, k=k: p["metadata"]["name"] == f"web-{k}")
        prev_ready = first(events, lambda kind, p, k=k: p["metadata"]["name"] == f"web-{k - 1}" and ready(p))
        assert prev_ready < created, f"web-{k} created before web-{k - 1} was ready"
    pod = json.loads(cluster.kubectl("get", "pod", "web-1", "-o", "json").stdout)
    assert pod["spec"]["hostname"] == "web-1" and pod["spec"]["subdomain"] == "nginx"
    assert pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"
    assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-1"
    pvcs = cluster.kubectl("get", "pvc", "--no-headers").stdout.splitlines()
    assert sorted((ln.split()[0], ln.split()[1]) for ln in pvcs) == [
        ("www-web-0", "Bound"), ("www-web-1", "Bound"), ("www-web-2", "Bound")]

    # Scale to 4 (web-3 after the others), then to 2 (web-3 fully gone before web-2 is touched).
    cluster.kubectl("scale", "sts", "web", "--replicas=4")
    wait_for(lambda: sts_status(cluster).get("readyReplicas") == 4, what="web 4/4")
    assert "www-web-3" in cluster.kubectl("get", "pvc", "-o", "name").stdout
    cluster.kubectl("scale", "sts", "web", "--replicas=2")
    wait_for(lambda: sts_status(cluster).get("replicas") == 2 and not cluster.kubectl(
        "get", "pod", "web-2", "--ignore-not-found", "-o", "name").stdout, what="web scaled to 2")
    events = watch.snapshot()
    web3_gone = first(events, lambda kind, p: kind == "DELETED" and p["metadata"]["name"] == "web-3")
    web2_terminating = first(events, lambda kind, p: p["metadata"]["name"] == "web-2"
                             and bool(p["metadata"].get("deletionTimestamp")))
    assert web3_gone < web2_terminating
    # The claims of the removed pods stay (retention policy Retain by default).
    claims = set(cluster.kubectl("get", "pvc", "-o", "name").stdout.split())
    assert {f"persistentvolumeclaim/www-web-{i}" for i in range(4)} <= claims

    # Back to 3, then a partitioned rolling update: ordinals >= 1, from the highest down; web-0 stays.
    cluster.kubectl("scale", "sts", "web", "--replicas=3")
    wait_for(lambda: sts_status(cluster).get("readyReplicas") == 3, what="web 3/3 again")
    mark = len(watch.snapshot())
    cluster.kubectl("patch", "sts", "web", "-p",
                    '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":1}}}}')
    cluster.kubectl("set", "image", "sts/web", "nginx=k8s.gcr.io/nginx-slim:0.9")
    out = cluster.kubectl("rollout", "status", "sts/web", "--timeout=60s", timeout=70).stdout
    assert "partitioned roll out complete" in out, out
    status = sts_status(cluster)
    assert status["updatedReplicas"] == 2 and status["currentRevision"] != status["updateRevision"]
    images = {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in json.loads(
        cluster.kubectl("get", "pods", "-l", "app=nginx", "-o", "json").stdout)["items"]}
    assert images == {"web-0": "k8s.gcr.io/nginx-slim:0.8", "web-1": "k8s.gcr.io/nginx-slim:0.9",
                      "web-2": "k8s.gcr.io/nginx-slim:0.9"}
    events = watch.snapshot()[mark:]
    terminating = [p["metadata"]["name"] for kind, p in events
                   if p["metadata"].get("deletionTimestamp") and p["metadata"]["name"].startswith("web-")]
    order = list(dict.fromkeys(terminating))
    assert order == ["web-2", "web-1"], order
    # web-1 is replaced only after the new web-2 is Running and Ready.
    new_web2_ready = first(events, lambda kind, p: p["metadata"]["name"] == "web-2" and ready(p)
                           and p["spec"]["containers"][0]["image"].endswith(":0.9"))
    web1_terminating = first(events, lambda kind, p: p["metadata"]["name"] == "web-1"
                             and bool(p["metadata"].get("deletionTimestamp")))
    assert new_web2_ready < web1_terminating
    history = cluster.kubectl("rollout", "history", "sts/web").stdout
    assert len([ln for ln in history.splitlines() if ln.strip()[:1].isdigit()]) == 2, history

    # Deleting the set takes its pods (garbage collector) but not the claims.
    cluster.kubectl("delete", "sts", "web")
    wait_for(lambda: not cluster.kubectl("get", "pods", "-l", "app=nginx", "-o", "name").stdout.strip(),
             what="web's pods gone")
    claims = set(cluster.kubectl("get", "pvc", "-o", "name").stdout.split())
    assert {f"persistentvolumeclaim/www-web-{i}" for i in range(4)} <= claims
