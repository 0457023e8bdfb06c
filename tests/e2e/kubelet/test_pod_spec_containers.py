"""Container-level spec against the real kubelet, as kubectl shows it: workingDir, terminationMessagePolicy
FallbackToLogsOnError, runAsNonRoot (refused for a root image, running with a non-root runAsUser), an invalid
image name, imagePullSecrets against a registry that requires auth, and ``kubectl logs --since-time``."""

from __future__ import annotations

import base64
import datetime
import json
import pathlib
import shutil
from collections.abc import Iterator

import pytest

from pyk8s.kubelet.images import build
from pyk8s.testing.registry import LocalRegistry
from tests.e2e.helpers import wait_until
from tests.e2e.kubelet.conftest import Cluster
from tests.e2e.kubelet.podkit import Pods, namespace

NS = "podspec-ctr"
SLEEP = ["sleep", "3600"]


@pytest.fixture(scope="module")
def pods(cluster: Cluster) -> Iterator[Pods]:
    yield from namespace(cluster, NS)


def test_working_dir_and_fallback_to_logs_on_error(pods: Pods) -> None:
    pods.pod("workdir", {"name": "app", "workingDir": "/srv/made/by/runtime", "command": ["sh", "-c", "pwd; sleep 3600"]})
    failing = {"name": "app", "terminationMessagePolicy": "FallbackToLogsOnError",
               "command": ["sh", "-c", "echo starting; echo 'config missing: /etc/app.conf'; exit 3"]}
    quiet = {"name": "quiet", "terminationMessagePolicy": "FallbackToLogsOnError",
             "command": ["sh", "-c", "echo all fine; exit 0"]}
    pods.pod("fallback", failing, quiet, restartPolicy="Never")

    pods.wait_status("workdir", "Running")
    wait_until(lambda: pods.logs("workdir") == "/srv/made/by/runtime\n", timeout=30, what="workdir log")
    assert pods.exec("workdir", "pwd") == "/srv/made/by/runtime\n"

    pods.wait_status("fallback", "Error")
    terminated = pods.container("fallback", "app")["state"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("Error", 3)
    assert terminated["message"] == "starting\nconfig missing: /etc/app.conf\n"
    # A container that exits 0 keeps no message: the fallback applies to failures only. (STATUS shows
    # Error as soon as "app" failed; "quiet" may not have been reported terminated yet.)
    quiet_state = wait_until(lambda: pods.container("fallback", "quiet")["state"].get("terminated"), timeout=90,
                             what="the quiet container terminated")
    assert quiet_state["exitCode"] == 0 and "message" not in quiet_state
    described = " ".join(pods.describe("fallback").split())
    assert "Reason: Error Message: starting config missing: /etc/app.conf Exit Code: 3" in described


def test_run_as_non_root(pods: Pods) -> None:
    pods.pod("nonroot-root", {"name": "app", "command": SLEEP, "securityContext": {"runAsNonRoot": True}})
    pods.pod("nonroot-user", {"name": "app", "command": SLEEP},
             securityContext={"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 3000})

    pods.wait_status("nonroot-user", "Running")
    assert pods.exec("nonroot-user", "id").split()[:2] == ["uid=1000", "gid=3000"]

    pods.wait_status("nonroot-root", "CreateContainerConfigError")
    uid = pods.json("nonroot-root")["metadata"]["uid"]
    message = (f'container has runAsNonRoot and image will run as root (pod: "nonroot-root_{NS}({uid})", '
               "container: app)")
    assert pods.container("nonroot-root", "app")["state"]["waiting"]["message"] == message
    events = " ".join(pods.wait_event("nonroot-root", f"Error: {message[:40]}").split())
    assert f"Error: {message}" in events


def test_invalid_image_name(pods: Pods) -> None:
    pods.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad-image"},
                "spec": {"terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "app", "image": "Busybox:1.36", "command": SLEEP}]}})
    pods.wait_status("bad-image", "InvalidImageName")
    waiting = pods.container("bad-image", "app")["state"]["waiting"]
    assert waiting["reason"] == "InvalidImageName"
    assert waiting["message"] == ('Failed to apply default image tag "Busybox:1.36": couldn\'t parse image name '
                                  '"Busybox:1.36": invalid reference format: repository name (library/Busybox) '
                                  "must be lowercase")
    events = " ".join(pods.wait_event("bad-image", "InspectFailed").split())
    assert 'Failed to apply default image tag "Busybox:1.36"' in events
    assert "Error: InvalidImageName" in events
    assert "Pulling" not in events



def test_image_pull_secrets(pods: Pods, cluster: Cluster, tmp_path: pathlib.Path) -> None:
    assert shutil.which("docker-registry") and shutil.which("skopeo"), "docker-registry and skopeo are needed"
    registry = LocalRegistry(tmp_path / "registry", netns=cluster.netns.path, credentials=("puller", "s3cret"))
    image = ""
    try:
        registry.start()
        image = f"{registry.address}/team/private:1.0"
        registry.push_layout(build.DEFAULT_OUT / "busybox", "docker.io/library/busybox:1.36", "team/private:1.0")
        auth = base64.b64encode(b"puller:s3cret").decode()
        config = {"auths": {registry.address: {"username": "puller", "password": "s3cret", "auth": auth}}}
        pods.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred"},
                    "type": "kubernetes.io/dockerconfigjson",
                    "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}})
        ctr = {"name": "app", "image": image, "imagePullPolicy": "Always", "command": SLEEP}
        pods.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pull-denied"},
                    "spec": {"terminationGracePeriodSeconds": 1, "containers": [ctr]}})
        seen: set[str] = set()

        def backing_off() -> bool:
            seen.add(pods.status("pull-denied"))
            return "ImagePullBackOff" in seen
        wait_until(backing_off, timeout=90, what="pull-denied ImagePullBackOff")
        events = " ".join(pods.wait_event("pull-denied", "ErrImagePull").split())
        assert f'Failed to pull image "{image}": rpc error: code = ' in events and "401 Unauthorized" in events, events
        assert f'Back-off pulling image "{image}"' in pods.wait_event("pull-denied", "Back-off pulling image")
        assert "ErrImagePull" in seen or "Error: ErrImagePull" in events

        pods.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pull-allowed"},
                    "spec": {"terminationGracePeriodSeconds": 1, "imagePullSecrets": [{"name": "regcred"}],
                             "containers": [ctr]}})
        pods.wait_status("pull-allowed", "Running", timeout=90)
        events = " ".join(pods.wait_event("pull-allowed", "Pulled").split())
        assert f'Successfully pulled image "{image}" in ' in events
        pods.delete("pull-allowed")
        pods.delete("pull-denied")
        cluster.kubelet.crictl("rmi", image)  # the node keeps no image of this test's registry
        assert image not in cluster.kubelet.crictl("images")
    finally:
        registry.stop()


def _stamped(text: str) -> list[tuple[str, str]]:
    return [tuple(line.split(" ", 1)) for line in text.splitlines()]  # type: ignore[misc]


def test_logs_since_time_with_timestamps(pods: Pods) -> None:
    pods.pod("since", {"name": "app", "command": ["sh", "-c", "echo early; sleep 3; echo late; sleep 3600"]})
    pods.wait_status("since", "Running")
    wait_until(lambda: "late" in pods.logs("since"), timeout=40, what="second line")
    lines = _stamped(pods.logs("since", "--timestamps"))
    assert [text for _, text in lines] == ["early", "late"]
    late = datetime.datetime.fromisoformat(lines[1][0].replace("Z", "+00:00"))
    # The API carries sinceTime in whole seconds: the second the late line was written in keeps it, and the
    # early line (three seconds before) goes.
    since = late.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = _stamped(pods.logs("since", f"--since-time={since}", "--timestamps"))
    assert after == [lines[1]]
    assert pods.logs("since", f"--since-time={since}") == "late\n"
    future = (late + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert pods.logs("since", f"--since-time={future}", "--timestamps") == ""
    bad = pods.kubectl("logs", "since", "--since-time=yesterday", check=False)
    assert bad.returncode != 0 and 'parsing time "yesterday"' in bad.stderr
