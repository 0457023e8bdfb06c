"""The kubelet's runtime manager driving the real managed containerd (root only; fixtures in conftest).

One pod with an init container, env from a ConfigMap (envFrom with a prefix
and configMapKeyRef), a configMap volume and an emptyDir the init container
writes into.  The test converges it with repeated ``sync_pod`` calls (what
the pod worker does), reads everything back through ExecSync, edits the
ConfigMap and sees the mounted file change in place, then kills and removes
the pod; the finally block removes whatever is left by recorded ids.
"""

from __future__ import annotations

import asyncio
import base64
import json
import pathlib
import shutil
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from pyk8s.kubelet.images import mirrors
from pyk8s.kubelet.kuberuntime.manager import RuntimeManager
from pyk8s.kubelet.kuberuntime.settings import RuntimeSettings
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri.client import CRIClient
from pyk8s.testing.fake_objects import FakeObjectSource
from pyk8s.testing.registry import LocalRegistry

from .conftest import IMAGE_CACHE, Node
from .pods import BUSYBOX

pytestmark = pytest.mark.containerd


def _pod(uid: str) -> dict:
    ctr = {"imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
           "terminationMessagePolicy": "File"}
    return {
        "metadata": {"name": "kr-web", "namespace": "e2e", "uid": uid, "labels": {"app": "kr-web"}},
        "spec": {
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 5,
            "enableServiceLinks": True, "nodeName": "node-1", "serviceAccountName": "default",
            "hostname": "web-0", "subdomain": "web",
            "initContainers": [{**ctr, "name": "prepare", "image": BUSYBOX,
                                "command": ["sh", "-c", "echo initialized-by-$(MODE) > /work/ready"],
                                "env": [{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "settings",
                                                                                          "key": "mode"}}}],
                                "volumeMounts": [{"name": "work", "mountPath": "/work"}]}],
            "containers": [{**ctr, "name": "app", "image": BUSYBOX, "command": ["sleep", "1000"],
                            "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CFG_"}],
                            "env": [{"name": "GREETING", "value": "hello-$(CFG_mode)"}],
                            "resources": {"limits": {"memory": "64Mi"}, "requests": {"memory": "32Mi"}},
                            "volumeMounts": [{"name": "config", "mountPath": "/etc/config"},
                                             {"name": "work", "mountPath": "/work"},
                                             {"name": "cache", "mountPath": "/cache"},
                                             {"name": "creds", "mountPath": "/etc/creds"}]}],
            "volumes": [{"name": "config", "configMap": {"name": "settings"}}, {"name": "work", "emptyDir": {}},
                        {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                        {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}}],
        },
    }


@pytest.fixture
async def manager(node: Node, tmp_path: pathlib.Path) -> AsyncIterator[tuple[RuntimeManager, FakeObjectSource]]:
    client = CRIClient(node.endpoint, timeout=30)
    sources = FakeObjectSource()
    sources.add({"kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "e2e"},
                 "data": {"mode": "fast", "greeting.txt": "hi there"}})
    sources.add({"kind": "Secret", "metadata": {"name": "creds", "namespace": "e2e"},
                 "data": {"password": base64.b64encode(b"s3cret").decode()}})
    sources.add({"kind": "Service", "metadata": {"name": "kubernetes", "namespace": "default"},
                 "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}})
    settings = RuntimeSettings(root_dir=tmp_path / "kubelet", node_ips=["127.0.0.1"], resolv_conf="")
    try:
        yield RuntimeManager(client, client, sources, settings), sources
    finally:
        await client.close()


async def _converge(manager: RuntimeManager, pod: dict, wait_s: float = 60) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        result = await manager.sync_pod(pod)
        assert not result.errors or all(s.error == "CrashLoopBackOff" for s in result.errors), result.steps
        status = await manager.get_pod_status(pod["metadata"]["uid"])
        app = status.find("app")
        if app is not None and app.state == ri.ContainerState.RUNNING:
            return
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.2)


async def _exec(cri: ri.RuntimeService, cid: str, script: str) -> str:
    res = await cri.exec_sync(cid, ["sh", "-c", script], 10)
    assert res.exit_code == 0, res
    return res.stdout.decode()


def _mounts_under(root: pathlib.Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(root))]


def _pod_cgroups(uid: str) -> list[pathlib.Path]:
    return list(pathlib.Path("/sys/fs/cgroup").glob(f"*/kubepods/*/pod{uid}"))


def _remove_empty_qos_cgroups() -> None:
    # The QoS tiers are the kubelet's to keep; a test leaves none behind (rmdir spares any in use).
    for hierarchy in pathlib.Path("/sys/fs/cgroup").iterdir():
        for sub in ("kubepods/burstable", "kubepods/besteffort", "kubepods"):
            try:
                (hierarchy / sub).rmdir()
            except OSError:
                pass


async def test_pod_with_init_container_configmap_env_and_volume(
        manager: tuple[RuntimeManager, FakeObjectSource], node: Node) -> None:
    mgr, sources = manager
    uid = uuid.uuid4().hex
    pod = _pod(uid)
    try:
        await _converge(mgr, pod)
        status = await mgr.get_pod_status(uid, "kr-web", "e2e")
        prepare, app = status.find("prepare"), status.find("app")
        assert prepare is not None and (prepare.state, prepare.exit_code) == (ri.ContainerState.EXITED, 0)
        assert app is not None and app.restart_count == 0 and status.ips[0].startswith("10.244.0.")
        cid = app.id

        assert await _exec(mgr.runtime, cid, "cat /work/ready") == "initialized-by-fast\n"
        assert await _exec(mgr.runtime, cid, "cat /etc/config/greeting.txt") == "hi there"
        env = await _exec(mgr.runtime, cid, "echo $GREETING $CFG_mode $KUBERNETES_SERVICE_HOST $KUBERNETES_PORT")
        assert env == "hello-fast fast 10.96.0.1 tcp://10.96.0.1:443\n"
        resolv = await _exec(mgr.runtime, cid, "cat /etc/resolv.conf")
        assert "nameserver 10.96.0.10" in resolv and "search e2e.svc.cluster.local svc.cluster.local cluster.local" \
            in resolv and "ndots:5" in resolv
        assert await _exec(mgr.runtime, cid, "hostname") == "web-0\n"
        hosts = await _exec(mgr.runtime, cid, "cat /etc/hosts")
        assert f"{status.ips[0]}\tweb-0.web.e2e.svc.cluster.local\tweb-0\n" in hosts
        assert await _exec(mgr.runtime, cid, "cat /etc/creds/password") == "s3cret"
        mounts = await _exec(mgr.runtime, cid, "cat /proc/mounts")
        assert any(line.split()[1:3] == ["/cache", "tmpfs"] for line in mounts.splitlines())
        assert any(line.split()[1:3] == ["/etc/creds", "tmpfs"] for line in mounts.splitlines())
        full = await mgr.runtime.exec_sync(cid, ["sh", "-c", "dd if=/dev/zero of=/cache/big bs=1024 count=2048"], 10)
        assert full.exit_code != 0 and b"No space left" in full.stderr
        limit = await _exec(mgr.runtime, cid, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
        assert int(limit) == 64 * 2**20

        sources.add({"kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "e2e"},
                     "data": {"mode": "fast", "greeting.txt": "edited"}})
        assert (await mgr.sync_pod(pod)).ok
        assert await _exec(mgr.runtime, cid, "cat /etc/config/greeting.txt") == "edited"
        assert (await mgr.get_pod_status(uid)).find("app").id == cid  # type: ignore[union-attr]

        killed = await mgr.kill_pod(pod, grace=2)
        assert killed.ok and [e.reason for e in killed.events] == ["Killing"]
        after = await mgr.get_pod_status(uid)
        assert after.find("app").state == ri.ContainerState.EXITED  # type: ignore[union-attr]
        assert all(s.state == ri.SandboxState.NOTREADY for s in after.sandboxes)
    finally:
        await mgr.remove_pod(uid)
        _remove_empty_qos_cgroups()
    assert (await mgr.get_pod_status(uid)).sandboxes == []
    assert not _mounts_under(mgr.settings.root_dir)
    assert not mgr.settings.pod_dir(uid).exists()
    assert not _pod_cgroups(uid)


def _security_pod(uid: str) -> dict:
    ctr = {"imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
           "terminationMessagePolicy": "File", "image": BUSYBOX}
    return {
        "metadata": {"name": "kr-sec", "namespace": "e2e", "uid": uid},
        "spec": {
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 2,
            "enableServiceLinks": False, "securityContext": {"fsGroup": 2000},
            "containers": [
                {**ctr, "name": "worker", "command": ["sleep", "1000"],
                 "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "readOnlyRootFilesystem": True,
                                     "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}},
                {**ctr, "name": "crasher", "command": ["sh", "-c", "echo crashed-here > /dev/termination-log; exit 3"]},
            ],
        },
    }


async def _wait_exited(mgr: RuntimeManager, uid: str, name: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        current = (await mgr.get_pod_status(uid)).find(name)
        if current is not None and current.restart_count == count and current.state == ri.ContainerState.EXITED:
            return
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.1)


async def test_security_context_and_crash_loop(manager: tuple[RuntimeManager, FakeObjectSource]) -> None:
    mgr, _ = manager
    uid = uuid.uuid4().hex
    pod = _security_pod(uid)
    try:
        assert (await mgr.sync_pod(pod)).ok
        worker = (await mgr.get_pod_status(uid)).find("worker")
        assert worker is not None
        ids = await _exec(mgr.runtime, worker.id, "id -u; id -g; id -G")
        uid_line, gid_line, groups = ids.splitlines()
        assert (uid_line, gid_line) == ("1000", "3000") and "2000" in groups.split()
        status = await _exec(mgr.runtime, worker.id, "grep -E '^(NoNewPrivs|CapEff)' /proc/1/status")
        assert "NoNewPrivs:\t1" in status and "CapEff:\t0000000000000000" in status
        denied = await mgr.runtime.exec_sync(worker.id, ["touch", "/written"], 10)
        assert denied.exit_code != 0

        await _wait_exited(mgr, uid, "crasher", 0)
        first = (await mgr.get_pod_status(uid)).find("crasher")
        assert first is not None and (first.exit_code, first.message) == (3, "crashed-here\n")
        assert (await mgr.sync_pod(pod)).ok  # the first restart is immediate
        await _wait_exited(mgr, uid, "crasher", 1)
        result = await mgr.sync_pod(pod)
        step = result.error_for("crasher")
        assert step is not None and step.error == "CrashLoopBackOff"
        assert step.message == f"back-off 10s restarting failed container=crasher pod=kr-sec_e2e({uid})"
        assert [e.reason for e in result.events] == ["BackOff"]
        assert (await mgr.get_pod_status(uid)).find("worker").id == worker.id  # type: ignore[union-attr]

        # kubectl debug --target=worker: an ephemeral container in the worker's PID namespace.
        pod["spec"]["ephemeralContainers"] = [{"name": "debugger", "image": BUSYBOX, "imagePullPolicy": "IfNotPresent",
                                               "command": ["sleep", "1000"], "targetContainerName": "worker",
                                               "terminationMessagePolicy": "File"}]
        assert (await mgr.sync_pod(pod)).error_for("debugger") is None
        debugger = (await mgr.get_pod_status(uid)).find("debugger")
        assert debugger is not None and debugger.state == ri.ContainerState.RUNNING
        processes = await _exec(mgr.runtime, debugger.id, "ps -o pid,user,args")
        assert any(line.split()[1:] == ["1000", "sleep", "1000"] for line in processes.splitlines())

        await mgr.kill_pod(pod)
    finally:
        await mgr.remove_pod(uid)
        _remove_empty_qos_cgroups()
    assert not _pod_cgroups(uid)


def _pull_pod(uid: str, name: str, secrets: list[str]) -> dict:
    return {"metadata": {"name": name, "namespace": "e2e", "uid": uid},
            "spec": {"restartPolicy": "Always", "enableServiceLinks": False, "terminationGracePeriodSeconds": 1,
                     "imagePullSecrets": [{"name": s} for s in secrets],
                     "containers": [{"name": "app", "image": "docker.io/library/private:1.0",
                                     "imagePullPolicy": "IfNotPresent", "command": ["sleep", "1000"]}]}}


async def test_pull_secret_authenticates_to_a_local_registry(
        manager: tuple[RuntimeManager, FakeObjectSource], node: Node, tmp_path: pathlib.Path) -> None:
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    mgr, sources = manager
    auth = base64.b64encode(b"puller:s3cret").decode()
    config = {"auths": {"https://index.docker.io/v1/": {"auth": auth}}}
    sources.add({"kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                 "metadata": {"name": "regcred", "namespace": "e2e"},
                 "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}})
    registry = LocalRegistry(tmp_path / "registry", netns=node.netns, credentials=("puller", "s3cret"))
    certs = node.manager.paths.certs_dir
    anonymous, authed = uuid.uuid4().hex, uuid.uuid4().hex
    try:
        registry.start()
        registry.push_layout(IMAGE_CACHE / "busybox", "docker.io/library/busybox:1.36", "library/private:1.0")
        mirrors.write_hosts_dir(certs, {"mirrors": {"docker.io": {"endpoint": [f"http://{registry.address}"]}}})

        refused = await mgr.sync_pod(_pull_pod(anonymous, "no-secret", []))
        step = refused.error_for("app")
        assert step is not None and step.error == "ErrImagePull"
        assert [e.reason for e in refused.events] == ["Pulling", "Failed", "Failed"]
        assert refused.events[-1].message == "Error: ErrImagePull"
        again = (await mgr.sync_pod(_pull_pod(anonymous, "no-secret", []))).error_for("app")
        assert again is not None and again.error == "ImagePullBackOff"
        assert again.message.startswith('Back-off pulling image "docker.io/library/private:1.0": ErrImagePull: ')

        pulled = await mgr.sync_pod(_pull_pod(authed, "with-secret", ["regcred", "missing"]))
        assert pulled.ok, pulled.steps
        reasons = [(e.reason, e.message) for e in pulled.events]
        assert reasons[0] == ("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets "
                              "(missing); attempting to pull the image may not succeed.")
        assert reasons[1] == ("Pulling", 'Pulling image "docker.io/library/private:1.0"')
        assert reasons[2][0] == "Pulled" and reasons[2][1].startswith(
            'Successfully pulled image "docker.io/library/private:1.0" in ')
        assert reasons[2][1].endswith(" bytes.") and [r for r, _ in reasons[3:]] == ["Created", "Started"]
    finally:
        for uid in (anonymous, authed):
            await mgr.remove_pod(uid)
        registry.stop()
        shutil.rmtree(certs, ignore_errors=True)
        certs.mkdir(exist_ok=True)
        try:
            await mgr.images.remove_image("docker.io/library/private:1.0")
        except ri.RuntimeServiceError:
            pass
        _remove_empty_qos_cgroups()
