"""Helm, as its users run it, against pyk8s: install, upgrade, rollback and uninstall of a chart with a
CRD, hook Jobs, a Deployment, a Service, a ConfigMap and a Secret, through Helm v4's own Go SDK
(``helm-python-sdk`` bundles it as a library: no helm binary, no network)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helm.chart import CRD_NAME
from tests.e2e.helpers import wait_until

NS = "helm-e2e"
TIMEOUT = 180  # seconds Helm may wait for hooks and readiness on a loaded machine


def get(srv: ServerProcess, path: str) -> tuple[int, dict[str, Any]]:
    status, body = srv.request("GET", path, timeout=30)
    return status, json.loads(body) if body else {}


def release_objects(rel: str) -> dict[str, str]:
    return {
        "configmap": f"/api/v1/namespaces/{NS}/configmaps/{rel}-config",
        "secret": f"/api/v1/namespaces/{NS}/secrets/{rel}-secret",
        "service": f"/api/v1/namespaces/{NS}/services/{rel}-svc",
        "deployment": f"/apis/apps/v1/namespaces/{NS}/deployments/{rel}-web",
        "gadget": f"/apis/helm.pyk8s.test/v1/namespaces/{NS}/gadgets/{rel}-gadget",
    }


def hook_completed(srv: ServerProcess, job: str) -> bool:
    """Whether the job controller reported the hook Job complete (the Job itself is gone by then:
    Helm deletes a hook that succeeded)."""
    _, events = get(srv, f"/api/v1/namespaces/{NS}/events")
    return any(e["involvedObject"].get("kind") == "Job" and e["involvedObject"].get("name") == job
               and e.get("reason") == "Completed" for e in events.get("items", []))


def release_secrets(srv: ServerProcess, rel: str) -> list[str]:
    _, secrets = get(srv, f"/api/v1/namespaces/{NS}/secrets?labelSelector=owner%3Dhelm,name%3D{rel}")
    return [s["metadata"]["name"] for s in secrets["items"]]


@pytest.fixture(scope="module")
def cfg(helm_cluster: ServerProcess) -> Any:
    config = helm.Config(kubeconfig_path=helm_cluster.kubeconfig, namespace=NS)
    yield config
    config.close()


def test_install_upgrade_rollback_uninstall_and_reinstall(helm_cluster: ServerProcess, cfg: Any,
                                                          chart_dir: Path) -> None:
    srv, rel = helm_cluster, "demo"
    installed = cfg.install(chart_dir, rel, namespace=NS, create_namespace=True, wait="watcher", timeout=TIMEOUT)
    assert (installed["status"], installed["revision"]) == ("deployed", 1)
    assert get(srv, f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}")[0] == 200
    for what, path in release_objects(rel).items():
        assert get(srv, path)[0] == 200, what
    _, cm = get(srv, release_objects(rel)["configmap"])
    assert cm["data"] == {"greeting": "hello"}
    assert cm["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert cm["metadata"]["annotations"]["meta.helm.sh/release-name"] == rel
    assert [m["operation"] for m in cm["metadata"]["managedFields"]] == ["Apply"]  # Helm 4 applies server-side
    _, deploy = get(srv, release_objects(rel)["deployment"])
    assert deploy["status"].get("readyReplicas") == 1  # wait="watcher" waited for the rollout
    assert wait_until(lambda: hook_completed(srv, f"{rel}-post-install"), timeout=60, what="the post-install hook")
    assert get(srv, f"/apis/batch/v1/namespaces/{NS}/jobs/{rel}-post-install")[0] == 404  # hook-succeeded

    # A server-side dry run changes nothing.
    dry = cfg.upgrade(chart_dir, rel, {"greeting": "dry"}, namespace=NS, dry_run="server", timeout=TIMEOUT)
    assert dry["revision"] == 2
    assert get(srv, release_objects(rel)["configmap"])[1]["data"] == {"greeting": "hello"}
    assert [h["status"] for h in cfg.history(rel)] == ["deployed"]

    upgraded = cfg.upgrade(chart_dir, rel, {"replicas": 2, "greeting": "bonjour"}, namespace=NS, wait="watcher",
                           timeout=TIMEOUT)
    assert (upgraded["status"], upgraded["revision"]) == ("deployed", 2)
    assert get(srv, release_objects(rel)["configmap"])[1]["data"] == {"greeting": "bonjour"}
    _, deploy = get(srv, release_objects(rel)["deployment"])
    assert deploy["spec"]["replicas"] == 2 and deploy["status"].get("readyReplicas") == 2
    assert get(srv, release_objects(rel)["gadget"])[1]["spec"] == {"size": 2}

    cfg.rollback(rel, version=1, wait="watcher", timeout=TIMEOUT)
    assert [(h["revision"], h["status"]) for h in cfg.history(rel)] == [
        (1, "superseded"), (2, "superseded"), (3, "deployed")]
    assert get(srv, release_objects(rel)["configmap"])[1]["data"] == {"greeting": "hello"}
    assert get(srv, release_objects(rel)["deployment"])[1]["spec"]["replicas"] == 1

    result = cfg.uninstall(rel, wait="watcher", timeout=TIMEOUT)
    assert result["release"]["status"] == "uninstalled"
    assert hook_completed(srv, f"{rel}-pre-delete")
    assert cfg.list(all_states=True) == []
    assert release_secrets(srv, rel) == []  # no stuck release
    for what, path in release_objects(rel).items():
        assert wait_until(lambda p=path: get(srv, p)[0] == 404, timeout=60, what=f"{what} deleted")
    # Helm never deletes CRDs it installed from crds/ (upstream behaviour).
    assert get(srv, f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}")[0] == 200

    again = cfg.install(chart_dir, rel, namespace=NS, wait="watcher", timeout=TIMEOUT)
    assert (again["status"], again["revision"]) == ("deployed", 1)
    cfg.uninstall(rel, wait="watcher", timeout=TIMEOUT)
    assert release_secrets(srv, rel) == []


def test_failed_hook_fails_the_install_and_the_release_still_uninstalls(helm_cluster: ServerProcess, cfg: Any,
                                                                        chart_dir: Path) -> None:
    srv, rel = helm_cluster, "broken"
    with pytest.raises(helm.HelmReleaseError, match="post-install"):
        cfg.install(chart_dir, rel, {"hookExit": 3}, namespace=NS, create_namespace=True, timeout=TIMEOUT)
    assert [(r["name"], r["status"]) for r in cfg.list(all_states=True)] == [(rel, "failed")]
    _, job = get(srv, f"/apis/batch/v1/namespaces/{NS}/jobs/{rel}-post-install")
    assert any(c["type"] == "Failed" and c["status"] == "True" for c in job["status"]["conditions"])

    # A failed release is uninstalled like any other (the pre-delete hook now succeeds on its own values).
    cfg.upgrade(chart_dir, rel, {"hookExit": 0}, namespace=NS, timeout=TIMEOUT)
    cfg.uninstall(rel, wait="watcher", timeout=TIMEOUT)
    assert cfg.list(all_states=True) == []
    assert release_secrets(srv, rel) == []
    for what, path in release_objects(rel).items():
        assert wait_until(lambda p=path: get(srv, p)[0] == 404, timeout=60, what=f"{what} deleted")
