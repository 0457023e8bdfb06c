"""Deployment rollouts with the real kubectl: scale, set image within the surge bounds, history, undo, pause."""

from __future__ import annotations

import json
import os
import time
import uuid

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.workloads.rollout_watch import RolloutWatch


def manifest(name: str, replicas: int, image: str, surge: int | str, unavailable: int | str) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "nginx", "image": image}]}}}})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:5]}"


def wait_ready(cluster: ServerProcess, name: str, ready: str, within: float = 30) -> str:
    deadline = time.monotonic() + within
    out = ""
    while time.monotonic() < deadline:
        out = cluster.kubectl("get", "deploy", name, "--no-headers").stdout
        if out.split()[1:2] == [ready]:
            return out
        time.sleep(0.3)
    raise AssertionError(f"deployment {name} never showed READY {ready}: {out}")


def pod_images(cluster: ServerProcess, app: str) -> list[str]:
    out = cluster.kubectl("get", "pods", "-l", f"app={app}", "-o", "json").stdout
    return sorted(p["spec"]["containers"][0]["image"] for p in json.loads(out)["items"]
                  if not p["metadata"].get("deletionTimestamp"))


def rollout_status(cluster: ServerProcess, name: str) -> str:
    done = cluster.kubectl("rollout", "status", f"deploy/{name}", "--timeout=60s", timeout=90, check=False)
    if done.returncode != 0:
        state = cluster.kubectl("get", "deploy,rs,pods", "-o", "wide", check=False).stdout
        with open(os.path.join(cluster.root, "components.log"), errors="replace") as log:
            tail = log.read()[-6000:]
        raise AssertionError(f"rollout of {name} did not finish: {done.stdout}{done.stderr}\n{state}\n{tail}")
    return done.stdout


def test_scale_then_rolling_update_stays_within_bounds(cluster: ServerProcess) -> None:
    name = unique("roll")
    cluster.kubectl("apply", "-f", "-", input=manifest(name, 4, "nginx:1.24", 1, 1))
    wait_ready(cluster, name, "4/4")
    cluster.kubectl("scale", f"deploy/{name}", "--replicas=6")
    wait_ready(cluster, name, "6/6")
    assert len(cluster.kubectl("get", "rs", "-l", f"app={name}", "--no-headers").stdout.splitlines()) == 1

    watch = RolloutWatch(cluster.client_config(), "default", f"app={name}")
    watch.start()
    assert watch.started.wait(10)
    cluster.kubectl("set", "image", f"deploy/{name}", "nginx=nginx:1.25")
    out = rollout_status(cluster, name)
    samples = watch.stop()
    assert f'deployment "{name}" successfully rolled out' in out
    assert len(samples) > 10, samples
    # maxSurge 1: never more than 7 pods asked for or alive; maxUnavailable 1: never fewer than 5 ready.
    assert max(s.rs_spec_total for s in samples) == 7, samples
    assert max(s.pods for s in samples) <= 7, samples
    assert min(s.ready for s in samples) >= 5, samples
    assert pod_images(cluster, name) == ["nginx:1.25"] * 6
    sets = cluster.kubectl("get", "rs", "-l", f"app={name}", "--no-headers").stdout.splitlines()
    desired = sorted(line.split()[1] for line in sets)
    assert desired == ["0", "6"], sets


def test_history_undo_and_to_revision(cluster: ServerProcess) -> None:
    name = unique("hist")
    cluster.kubectl("apply", "-f", "-", input=manifest(name, 2, "nginx:1.24", "25%", "25%"))
    rollout_status(cluster, name)
    cluster.kubectl("set", "image", f"deploy/{name}", "nginx=nginx:1.25")
    cluster.kubectl("annotate", f"deploy/{name}", "kubernetes.io/change-cause=move to 1.25")
    rollout_status(cluster, name)

    history = cluster.kubectl("rollout", "history", f"deploy/{name}").stdout
    rows = [line.split(None, 1) for line in history.splitlines()[2:] if line.strip()]
    assert rows == [["1", "<none>"], ["2", "move to 1.25"]], history
    detail = cluster.kubectl("rollout", "history", f"deploy/{name}", "--revision=2").stdout
    assert "nginx:1.25" in detail and "move to 1.25" in detail, detail

    cluster.kubectl("rollout", "undo", f"deploy/{name}")
    rollout_status(cluster, name)
    assert pod_images(cluster, name) == ["nginx:1.24"] * 2
    revisions = [line.split()[0] for line in cluster.kubectl("rollout", "history", f"deploy/{name}").stdout
                 .splitlines()[2:] if line.strip()]
    assert revisions == ["2", "3"], revisions

    cluster.kubectl("rollout", "undo", f"deploy/{name}", "--to-revision=2")
    rollout_status(cluster, name)
    assert pod_images(cluster, name) == ["nginx:1.25"] * 2


def test_pause_holds_template_changes_but_not_scaling(cluster: ServerProcess) -> None:
    name = unique("pause")
    cluster.kubectl("apply", "-f", "-", input=manifest(name, 2, "nginx:1.24", 1, 0))
    rollout_status(cluster, name)
    cluster.kubectl("rollout", "pause", f"deploy/{name}")
    cluster.kubectl("set", "image", f"deploy/{name}", "nginx=nginx:1.26")
    cluster.kubectl("scale", f"deploy/{name}", "--replicas=3")
    wait_ready(cluster, name, "3/3")
    time.sleep(1.0)  # a paused rollout must stay put, so give the controller time to misbehave
    assert pod_images(cluster, name) == ["nginx:1.24"] * 3
    assert len(cluster.kubectl("get", "rs", "-l", f"app={name}", "--no-headers").stdout.splitlines()) == 1
    conditions = json.loads(cluster.kubectl("get", "deploy", name, "-o", "json").stdout)["status"]["conditions"]
    progressing = next(c for c in conditions if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")

    cluster.kubectl("rollout", "resume", f"deploy/{name}")
    rollout_status(cluster, name)
    assert pod_images(cluster, name) == ["nginx:1.26"] * 3


def test_recreate_replaces_all_pods_at_once(cluster: ServerProcess) -> None:
    name = unique("recreate")
    body = json.loads(manifest(name, 2, "nginx:1.24", 1, 1))
    body["spec"]["strategy"] = {"type": "Recreate"}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(body))
    rollout_status(cluster, name)
    watch = RolloutWatch(cluster.client_config(), "default", f"app={name}")
    watch.start()
    assert watch.started.wait(10)
    cluster.kubectl("set", "image", f"deploy/{name}", "nginx=nginx:1.25")
    rollout_status(cluster, name)
    samples = watch.stop()
    assert pod_images(cluster, name) == ["nginx:1.25"] * 2
    # Recreate: every old pod is gone before a new one is asked for.
    assert min(s.pods for s in samples) == 0, samples
    assert max(s.rs_spec_total for s in samples) == 2, samples
