"""kubectl label / annotate / patch / edit / scale / wait / diff / run --dry-run=server."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from pyk8s.testing.cluster import ServerProcess

from . import manifests

pytestmark = pytest.mark.e2e


def get_json(srv: ServerProcess, *ref: str) -> dict:
    return json.loads(srv.kubectl("get", *ref, "-o", "json").stdout)


@pytest.fixture(scope="module")
def deploy(server: ServerProcess) -> ServerProcess:
    server.kubectl("apply", "-f", "-", input=manifests.nginx_deployment("web-m", replicas=1, app="web-m"))
    return server


def test_label_and_annotate(deploy: ServerProcess) -> None:
    assert deploy.kubectl("label", "deployment", "web-m", "env=prod").stdout.strip() == "deployment.apps/web-m labeled"
    assert get_json(deploy, "deployment", "web-m")["metadata"]["labels"] == {"app": "web-m", "env": "prod"}
    clash = deploy.kubectl("label", "deployment", "web-m", "env=dev", check=False)
    assert clash.returncode == 1 and "'env' already has a value (prod)" in clash.stderr
    deploy.kubectl("label", "deployment", "web-m", "env=dev", "--overwrite")
    deploy.kubectl("label", "deployment", "web-m", "env-")
    assert "env" not in get_json(deploy, "deployment", "web-m")["metadata"]["labels"]
    out = deploy.kubectl("annotate", "deployment", "web-m", "owner=team-a").stdout
    assert out.strip() == "deployment.apps/web-m annotated"
    assert get_json(deploy, "deployment", "web-m")["metadata"]["annotations"]["owner"] == "team-a"


def test_patch_strategic_merge_json(deploy: ServerProcess) -> None:
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox"}]}}}}
    out = deploy.kubectl("patch", "deployment", "web-m", "-p", json.dumps(smp)).stdout
    assert out.strip() == "deployment.apps/web-m patched"
    containers = get_json(deploy, "deployment", "web-m")["spec"]["template"]["spec"]["containers"]
    # Strategic merge: the list is merged by name, so nginx stays; the added container goes first, as in
    # upstream's "Update API Objects in Place Using kubectl patch" (redis before nginx).
    assert [c["name"] for c in containers] == ["sidecar", "nginx"]

    merge = {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "busybox"}]}}}}
    deploy.kubectl("patch", "deployment", "web-m", "--type", "merge", "-p", json.dumps(merge))
    containers = get_json(deploy, "deployment", "web-m")["spec"]["template"]["spec"]["containers"]
    # JSON merge patch replaces lists whole.
    assert [c["name"] for c in containers] == ["only"]

    ops = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:1.27"}]
    deploy.kubectl("patch", "deployment", "web-m", "--type", "json", "-p", json.dumps(ops))
    image = deploy.kubectl("get", "deployment", "web-m", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image.stdout == "nginx:1.27"
    bad = deploy.kubectl(
        "patch",
        "deployment",
        "web-m",
        "--type",
        "json",
        "-p",
        '[{"op":"test","path":"/spec/replicas","value":99}]',
        check=False,
    )
    # A failed "test" operation rejects the whole patch.
    assert bad.returncode == 1 and "test failed" in bad.stderr
    assert get_json(deploy, "deployment", "web-m")["spec"]["replicas"] == 1


def test_patch_no_change(deploy: ServerProcess) -> None:
    labels = get_json(deploy, "deployment", "web-m")["metadata"]["labels"]
    out = deploy.kubectl(
        "patch", "deployment", "web-m", "--type", "merge", "-p", json.dumps({"metadata": {"labels": labels}})
    )
    assert out.stdout.strip() == "deployment.apps/web-m patched (no change)"


def test_edit_with_scripted_editor(deploy: ServerProcess) -> None:
    deploy.kubectl("create", "configmap", "edit-me", "--from-literal=color=blue")
    editor = os.path.join(deploy.root, "editor.sh")
    with open(editor, "w", encoding="utf-8") as f:
        f.write("#!/bin/sh\nsed -i 's/color: blue/color: green/' \"$1\"\n")
    os.chmod(editor, os.stat(editor).st_mode | stat.S_IEXEC)
    out = deploy.kubectl("edit", "configmap", "edit-me", env={"EDITOR": editor, "KUBE_EDITOR": editor})
    assert out.stdout.strip() == "configmap/edit-me edited"
    assert deploy.kubectl("get", "cm", "edit-me", "-o", "jsonpath={.data.color}").stdout == "green"
    again = deploy.kubectl("edit", "configmap", "edit-me", env={"EDITOR": editor, "KUBE_EDITOR": editor})
    assert "Edit cancelled, no changes made." in again.stdout + again.stderr


def test_scale_changes_only_replicas_and_wait_sees_it(deploy: ServerProcess) -> None:
    before = get_json(deploy, "deployment", "web-m")
    waiter = subprocess.Popen(
        deploy.kubectl_args("wait", "--for=jsonpath={.spec.replicas}=3", "deploy/web-m", "--timeout=30s"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=deploy.kubectl_env(),
        start_new_session=True,
    )
    try:
        out = deploy.kubectl("scale", "deploy/web-m", "--replicas=3").stdout
        assert out.strip() == "deployment.apps/web-m scaled"
        stdout, stderr = waiter.communicate(timeout=40)
    finally:
        if waiter.poll() is None:
            os.killpg(waiter.pid, 9)
            waiter.wait()
    assert waiter.returncode == 0, stderr
    assert stdout.strip() == "deployment.apps/web-m condition met"
    after = get_json(deploy, "deployment", "web-m")
    assert after["spec"]["replicas"] == 3
    assert after["spec"]["template"] == before["spec"]["template"]
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1


def test_diff(deploy: ServerProcess) -> None:
    path = os.path.join(deploy.root, "diff-cm.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(manifests.configmap("diff-cm", value="alpha"))
    deploy.kubectl("apply", "-f", path)
    same = deploy.kubectl("diff", "-f", path, check=False)
    assert same.returncode == 0 and same.stdout == ""
    with open(path, "w", encoding="utf-8") as f:
        f.write(manifests.configmap("diff-cm", value="beta"))
    changed = deploy.kubectl("diff", "-f", path, check=False)
    assert changed.returncode == 1, changed.stderr
    assert "-  gzip: alpha" in changed.stdout
    assert "+  gzip: beta" in changed.stdout
    # diff is a dry run: nothing changed on the server.
    assert deploy.kubectl("get", "cm", "diff-cm", "-o", "jsonpath={.data.gzip}").stdout == "alpha"


def test_run_dry_run_server(deploy: ServerProcess) -> None:
    out = deploy.kubectl("run", "nginx-dry", "--image=nginx:1.24", "--dry-run=server", "-o", "yaml").stdout
    assert "name: nginx-dry" in out
    assert "run: nginx-dry" in out
    assert "image: nginx:1.24" in out
    # Server defaults are visible in the dry-run answer.
    assert "restartPolicy: Always" in out
    assert "imagePullPolicy: IfNotPresent" in out
    assert "terminationMessagePath: /dev/termination-log" in out
    assert "uid:" in out and "creationTimestamp:" in out
    gone = deploy.kubectl("get", "pod", "nginx-dry", check=False)
    assert gone.returncode == 1 and 'pods "nginx-dry" not found' in gone.stderr
