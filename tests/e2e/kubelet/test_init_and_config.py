"""Init containers and sidecars (STATUS Init:N/M, Init:Error, Init:CrashLoopBackOff), and configuration
from ConfigMaps, Secrets and the downward API, as a container sees it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.helpers import wait_until
from tests.e2e.kubelet.conftest import Cluster
from tests.e2e.kubelet.podkit import Pods, namespace

SHARED = [{"name": "shared", "emptyDir": {}}]
MOUNT = [{"name": "shared", "mountPath": "/shared"}]


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> Iterator[Pods]:
    yield from namespace(cluster, "initcfg")


CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
          "data": {"color": "blue", "size": "10"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"password": "s3cret"}}


def test_env_and_volumes_from_config(pods: Pods) -> None:
    pods.apply(CONFIG)
    pods.apply(SECRET)
    app = {"name": "app", "command": ["sleep", "3600"], "resources": {"limits": {"memory": "64Mi"}},
           "env": [{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}}},
                   {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                   {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                   {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                   {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                                      "divisor": "1Mi"}}},
                   {"name": "GREETING", "value": "color-is-$(COLOR)"}],
           "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "settings"}}],
           "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}, {"name": "sec", "mountPath": "/etc/sec"},
                            {"name": "info", "mountPath": "/etc/info"}]}
    volumes = [{"name": "cfg", "configMap": {"name": "settings"}},
               {"name": "sec", "secret": {"secretName": "creds"}},
               {"name": "info", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {
                   "fieldPath": "metadata.labels"}}]}}]
    pods.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "configured", "labels": {"tier": "web"}},
                "spec": {"terminationGracePeriodSeconds": 1, "volumes": volumes,
                         "containers": [{"image": "busybox:1.36", "imagePullPolicy": "IfNotPresent", **app}]}})
    pods.wait_status("configured", "Running")
    env = dict(line.split("=", 1) for line in pods.exec("configured", "env").splitlines() if "=" in line)
    assert env["COLOR"] == "blue" and env["PASSWORD"] == "s3cret" and env["POD_NAME"] == "configured"
    assert env["POD_IP"] == pods.json("configured")["status"]["podIP"]
    assert env["MEM"] == "64" and env["GREETING"] == "color-is-blue"
    assert (env["CFG_color"], env["CFG_size"]) == ("blue", "10")
    assert pods.exec("configured", "cat", "/etc/cfg/color") == "blue"
    assert pods.exec("configured", "cat", "/etc/sec/password") == "s3cret"
    assert pods.exec("configured", "cat", "/etc/info/labels") == 'tier="web"'
    # Edited now, checked by the module's last test: the volume follows within the periodic pod sync (a minute
    # upstream; the test kubelet's --sync-frequency is 10 s), which the tests between overlap.
    pods.apply({**CONFIG, "data": {"color": "green", "size": "10"}})


def test_init_containers_run_in_order(pods: Pods) -> None:
    inits = [{"name": "first", "command": ["sh", "-c", "sleep 2; echo first >> /shared/order"], "volumeMounts": MOUNT},
             {"name": "second", "command": ["sh", "-c", "sleep 2; echo second >> /shared/order"],
              "volumeMounts": MOUNT}]
    app = {"name": "app", "command": ["sh", "-c", "cat /shared/order; sleep 3600"], "volumeMounts": MOUNT}
    pods.pod("ordered", app, initContainers=inits, volumes=SHARED)
    seen = set()
    def running() -> bool:
        seen.add(pods.status("ordered"))
        return "Running" in seen
    wait_until(running, timeout=40, what="ordered Running")
    assert {"Init:0/2", "Init:1/2"} <= seen, seen
    assert pods.logs("ordered") == "first\nsecond\n"
    assert pods.condition("ordered", "Initialized") == "True"


def test_failing_init_container(pods: Pods) -> None:
    inits = [{"name": "fails", "command": ["sh", "-c", "exit 1"]}, {"name": "after", "command": ["true"]}]
    app = {"name": "app", "command": ["sleep", "3600"]}
    pods.pod("init-never", app, initContainers=inits, restartPolicy="Never")
    pods.pod("init-always", app, initContainers=inits)
    pods.wait_status("init-never", "Init:Error")
    assert pods.json("init-never")["status"]["phase"] == "Failed"
    described = pods.describe("init-never")
    init_section = described.split("Init Containers:")[1].split("\nContainers:")[0]
    assert "Reason:       Error" in init_section and "Exit Code:    1" in init_section
    assert "Status:           Failed" in described
    pods.wait_status("init-always", "Init:CrashLoopBackOff")
    assert pods.restarts("init-always") >= 1
    assert pods.json("init-always")["status"]["phase"] == "Pending"
    assert pods.container("init-always", "app")["state"]["waiting"]["reason"] == "PodInitializing"


def test_sidecar_starts_before_and_stops_after_the_app(cluster: Cluster, pods: Pods) -> None:
    log = cluster.kubelet.root / "sidecar-order"
    host = {"name": "out", "hostPath": {"path": str(cluster.kubelet.root), "type": "Directory"}}
    out = [{"name": "out", "mountPath": "/out"}, *MOUNT]
    sidecar = {"name": "side", "restartPolicy": "Always", "volumeMounts": out,
               "command": ["sh", "-c", "touch /shared/side-up; trap 'echo side-stopped >> /out/sidecar-order; exit 0' "
                                       "TERM; while true; do sleep 0.1; done"]}
    app = {"name": "app", "volumeMounts": out,
           "command": ["sh", "-c", "test -e /shared/side-up && echo side-was-up; trap 'echo app-stopped >> "
                                   "/out/sidecar-order; exit 0' TERM; while true; do sleep 0.1; done"]}
    pods.pod("with-sidecar", app, initContainers=[sidecar], volumes=[*SHARED, host], terminationGracePeriodSeconds=5)
    wait_until(lambda: pods.row("with-sidecar")[1:3] == ["2/2", "Running"], timeout=40, what="2/2 Running")
    assert pods.logs("with-sidecar", "-c", "app") == "side-was-up\n"
    pods.delete("with-sidecar")
    assert log.read_text().split() == ["app-stopped", "side-stopped"]
    log.unlink()


def test_missing_references_give_create_container_config_error(pods: Pods) -> None:
    pods.apply({**CONFIG, "metadata": {"name": "other"}})
    no_key = {"name": "app", "command": ["sleep", "3600"],
              "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "other", "key": "absent"}}}]}
    no_map = {"name": "app", "command": ["sleep", "3600"], "envFrom": [{"configMapRef": {"name": "nowhere"}}]}
    pods.pod("missing-key", no_key)
    pods.pod("missing-map", no_map)
    pods.wait_status("missing-key", "CreateContainerConfigError")
    waiting = pods.container("missing-key", "app")["state"]["waiting"]
    assert waiting["message"] == "couldn't find key absent in ConfigMap initcfg/other"
    pods.wait_status("missing-map", "CreateContainerConfigError")
    assert pods.container("missing-map", "app")["state"]["waiting"]["message"] == 'configmap "nowhere" not found'
    events = pods.events("missing-key")
    assert "Failed" in events and "Error: couldn't find key absent in ConfigMap initcfg/other" in events
    # Creating what was missing lets the container start.
    pods.apply({**CONFIG, "metadata": {"name": "nowhere"}})
    pods.wait_status("missing-map", "Running")
    assert json.loads(pods.kubectl("get", "pod", "missing-map", "-o", "json").stdout)["status"]["phase"] == "Running"


def test_config_map_edit_reaches_the_volume(pods: Pods) -> None:
    wait_until(lambda: pods.exec("configured", "cat", "/etc/cfg/color") == "green", timeout=70,
               what="configMap volume updated")
    assert pods.exec("configured", "sh", "-c", "echo $COLOR") == "blue\n"  # env is fixed at container start
