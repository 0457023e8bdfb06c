"""Shared fixtures: a FakeRuntime and FakeObjectSource on one FakeClock, and a RuntimeManager over them."""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import pytest

from pyk8s.kubelet.kuberuntime.manager import RuntimeManager
from pyk8s.kubelet.kuberuntime.settings import RuntimeSettings
from pyk8s.testing.fake_clock import FakeClock
from pyk8s.testing.fake_objects import FakeObjectSource
from pyk8s.testing.fake_runtime import FakeRuntime

Obj = dict[str, Any]
BUSYBOX = "docker.io/library/busybox:1.36"


def make_pod(name: str = "web", *, containers: list[Obj] | None = None, init: list[Obj] | None = None,
             uid: str = "uid-1", namespace: str = "default", **spec: Any) -> Obj:
    pod_spec: Obj = {
        "containers": containers if containers is not None else [ctr("app")],
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
        "enableServiceLinks": True, "nodeName": "node-1", "serviceAccountName": "default",
    }
    if init:
        pod_spec["initContainers"] = init
    pod_spec.update(spec)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": uid, "labels": {"app": name},
                         "annotations": {"note": "x"}},
            "spec": pod_spec}


def ctr(name: str, image: str = BUSYBOX, **fields: Any) -> Obj:
    out: Obj = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
    out.update(fields)
    return copy.deepcopy(out)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def runtime(clock: FakeClock) -> FakeRuntime:
    return FakeRuntime(clock=lambda: int(clock.now().timestamp() * 1e9))


@pytest.fixture
def sources(clock: FakeClock) -> FakeObjectSource:
    return FakeObjectSource(clock=clock)


@pytest.fixture
def settings(tmp_path: pathlib.Path) -> RuntimeSettings:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 192.0.2.53\nsearch corp.example\noptions timeout:2\n")
    return RuntimeSettings(root_dir=tmp_path / "kubelet", node_name="node-1", node_ips=["192.168.1.10"],
                           resolv_conf=str(resolv), cgroup_root="", memory_capacity=8 * 2**30,
                           allocatable={"cpu": "2", "memory": "8Gi", "ephemeral-storage": "100Gi"})


@pytest.fixture
def manager(runtime: FakeRuntime, sources: FakeObjectSource, settings: RuntimeSettings,
            clock: FakeClock) -> RuntimeManager:
    return RuntimeManager(runtime, runtime, sources, settings, clock=clock)
