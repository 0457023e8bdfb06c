"""The volume manager: every volume type, upstream's FailedMount texts, and subPath."""

from __future__ import annotations

import asyncio
import base64
import os
import pathlib
from typing import Any

import pytest

from pyk8s.kubelet.volumes import manager as vm
from pyk8s.testing.fake_clock import FakeClock
from pyk8s.testing.fake_objects import FakeObjectSource


def _read(path: str) -> str:
    return pathlib.Path(path).read_text()


def _pod(volumes: list, **spec: object) -> dict:
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u1", "labels": {"b": "2", "a": 'q"1'},
                         "annotations": {}},
            "spec": {"volumes": volumes, "serviceAccountName": "builder",
                     "containers": [{"name": "app", "resources": {"limits": {"memory": "32Mi"}}}], **spec}}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sources(clock: FakeClock) -> FakeObjectSource:
    src = FakeObjectSource(clock=clock)
    src.add({"kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
             "data": {"app.conf": "x=1", "other": "y"}, "binaryData": {"bin": base64.b64encode(b"\x00\x01").decode()}})
    src.add({"kind": "Secret", "metadata": {"name": "sec", "namespace": "default"},
             "data": {"password": base64.b64encode(b"pw").decode()}})
    src.add({"kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "default"},
             "data": {"ca.crt": "CERT"}})
    return src


@pytest.fixture
def manager(tmp_path: pathlib.Path, sources: FakeObjectSource, clock: FakeClock) -> vm.VolumeManager:
    return vm.VolumeManager(tmp_path / "pods", sources, clock=clock, allocatable={"memory": "1Gi"}, can_mount=False)


async def test_configmap_secret_and_downward_api(manager: vm.VolumeManager, sources: FakeObjectSource) -> None:
    pod = _pod([
        {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "app.conf", "path": "conf/app.conf",
                                                                 "mode": 0o600}]}},
        {"name": "all", "configMap": {"name": "cfg", "defaultMode": 0o440}},
        {"name": "sec", "secret": {"secretName": "sec"}},
        {"name": "info", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
            {"path": "mem", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory",
                                                 "divisor": "1Mi"}}]}},
    ])
    result = await manager.mount_pod(pod)
    assert result.ok, result.failures
    cfg = result.volumes["cfg"].host_path
    assert (cfg / "conf" / "app.conf").read_text() == "x=1" and result.volumes["cfg"].read_only
    assert (os.stat(cfg / "conf" / "app.conf").st_mode & 0o777) == 0o600
    everything = result.volumes["all"].host_path
    assert {p.name for p in everything.iterdir() if not p.name.startswith("..")} == {"app.conf", "other", "bin"}
    assert (everything / "bin").read_bytes() == b"\x00\x01" and (os.stat(everything / "other").st_mode & 0o777) == 0o440
    assert (result.volumes["sec"].host_path / "password").read_text() == "pw"
    info = result.volumes["info"].host_path
    assert (info / "labels").read_text() == 'a="q\\"1"\nb="2"'
    assert (info / "name").read_text() == "web" and (info / "mem").read_text() == "32"
    assert "kubernetes.io~configmap" in str(cfg) and "kubernetes.io~downward-api" in str(info)

    sources.add({"kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
                 "data": {"app.conf": "x=2", "other": "y"}})
    link_before = os.readlink(cfg / "..data")
    await manager.mount_pod(pod)  # a resync updates the files in place
    assert (cfg / "conf" / "app.conf").read_text() == "x=2" and os.readlink(cfg / "..data") != link_before


@pytest.mark.parametrize(("volume", "message"), [
    ({"configMap": {"name": "nope"}}, 'configmap "nope" not found'),
    ({"secret": {"secretName": "nope"}}, 'secret "nope" not found'),
    ({"configMap": {"name": "cfg", "items": [{"key": "missing", "path": "m"}]}},
     "configmap references non-existent config key: missing"),
    ({"secret": {"secretName": "sec", "items": [{"key": "missing", "path": "m"}]}},
     "references non-existent secret key: missing"),
    ({"hostPath": {"path": "/nonexistent/dir", "type": "Directory"}},
     "hostPath type check failed: /nonexistent/dir is not a directory"),
    ({"hostPath": {"path": "/etc", "type": "File"}}, "hostPath type check failed: /etc is not a file"),
    ({"hostPath": {"path": "/etc/hostname", "type": "Socket"}},
     "hostPath type check failed: /etc/hostname is not a socket file"),
    ({"persistentVolumeClaim": {"claimName": "data"}}, 'persistentvolumeclaim "data" not found'),
])
async def test_failed_mount_messages(manager: vm.VolumeManager, volume: dict, message: str) -> None:
    result = await manager.mount_pod(_pod([{"name": "v", **volume}]))
    assert result.failures == {"v": f'MountVolume.SetUp failed for volume "v" : {message}'}


async def test_optional_sources_mount_empty(manager: vm.VolumeManager) -> None:
    result = await manager.mount_pod(_pod([{"name": "v", "configMap": {"name": "nope", "optional": True}},
                                           {"name": "s", "secret": {"secretName": "nope", "optional": True}}]))
    assert result.ok and not any(p for p in result.volumes["v"].host_path.iterdir() if not p.name.startswith(".."))


async def test_projected_token_ca_and_namespace(manager: vm.VolumeManager, sources: FakeObjectSource,
                                                clock: FakeClock) -> None:
    pod = _pod([{"name": "kube-api-access", "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607, "audience": "api"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]}}])
    result = await manager.mount_pod(pod)
    root = result.volumes["kube-api-access"].host_path
    assert {p.name: p.read_text() for p in root.iterdir() if not p.name.startswith("..")} == {
        "token": "token-1", "ca.crt": "CERT", "namespace": "default"}
    assert sources.tokens_issued == [{"namespace": "default", "serviceAccount": "builder", "audiences": ["api"],
                                      "expirationSeconds": 3607, "pod": "web", "podUID": "u1"}]
    await clock.advance(0.7 * 3607)
    await manager.mount_pod(pod)
    assert (root / "token").read_text() == "token-1"  # still fresh
    await clock.advance(0.11 * 3607)
    await manager.mount_pod(pod)
    assert (root / "token").read_text() == "token-2"  # refreshed at 80 % of its life


async def test_long_lived_tokens_are_refreshed_after_a_day(manager: vm.VolumeManager, clock: FakeClock) -> None:
    week = 7 * 24 * 3600
    pod = _pod([{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token",
                                                                                  "expirationSeconds": week}}]}}])
    root = (await manager.mount_pod(pod)).volumes["t"].host_path
    await clock.advance(24 * 3600 - 60)
    await manager.mount_pod(pod)
    assert (root / "token").read_text() == "token-1"
    await clock.advance(120)
    await manager.mount_pod(pod)
    assert (root / "token").read_text() == "token-2"  # 24 h old, long before 80 % of a week


async def test_empty_dir_host_path_and_claims(manager: vm.VolumeManager, sources: FakeObjectSource,
                                              tmp_path: pathlib.Path) -> None:
    local = tmp_path / "pv-local"
    local.mkdir()
    sources.add({"kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "default"},
                 "spec": {"volumeName": "pv1"}, "status": {"phase": "Bound"}})
    sources.add({"kind": "PersistentVolume", "metadata": {"name": "pv1"}, "spec": {"local": {"path": str(local)}}})
    sources.add({"kind": "PersistentVolumeClaim", "metadata": {"name": "pending", "namespace": "default"},
                 "spec": {}, "status": {"phase": "Pending"}})
    made = tmp_path / "made" / "here"
    result = await manager.mount_pod(_pod([
        {"name": "scratch", "emptyDir": {}}, {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        {"name": "host", "hostPath": {"path": str(made), "type": "DirectoryOrCreate"}},
        {"name": "file", "hostPath": {"path": str(tmp_path / "f.txt"), "type": "FileOrCreate"}},
        {"name": "data", "persistentVolumeClaim": {"claimName": "data", "readOnly": True}},
        {"name": "wait", "persistentVolumeClaim": {"claimName": "pending"}},
    ], securityContext={"fsGroup": os.getegid()}))
    assert result.failures == {"wait": 'MountVolume.SetUp failed for volume "wait" : PVC default/pending has '
                                       'non-bound phase ("Pending") or empty pvc.Spec.VolumeName ("")'}
    scratch = result.volumes["scratch"].host_path
    assert scratch.is_dir() and (scratch.stat().st_mode & 0o7777) == 0o2777
    assert made.is_dir() and (tmp_path / "f.txt").is_file()
    assert result.volumes["data"].host_path == local and result.volumes["data"].read_only
    await manager.unmount_pod("u1")
    assert not scratch.exists()


async def test_sub_paths(manager: vm.VolumeManager) -> None:
    result = await manager.mount_pod(_pod([{"name": "scratch", "emptyDir": {}}, {"name": "cfg",
                                                                                 "configMap": {"name": "cfg"}}]))
    container = {"name": "app", "volumeMounts": [
        {"name": "scratch", "mountPath": "/data", "subPath": "a/b"},
        {"name": "scratch", "mountPath": "/logs", "subPathExpr": "$(POD_NAME)"},
        {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"},
    ]}
    mounts = vm.container_mounts(container, result.volumes, {"POD_NAME": "web"})
    scratch = result.volumes["scratch"].host_path
    assert [(m.container_path, m.host_path, m.readonly) for m in mounts][:2] == [
        ("/data", str(scratch / "a" / "b"), False), ("/logs", str(scratch / "web"), False)]
    assert (scratch / "a" / "b").is_dir() and _read(mounts[2].host_path) == "x=1"
    for bad, message in [("/abs", "error SubPath `/abs` must not be an absolute path"),
                         ("../x", "unable to provision SubPath `../x`: must not contain '..'")]:
        with pytest.raises(vm.SubPathError, match=message.replace("(", r"\(")):
            vm.container_mounts({"name": "app", "volumeMounts": [{"name": "scratch", "mountPath": "/d",
                                                                  "subPath": bad}]}, result.volumes, {})
    # subPathExpr: every variable it names must have a value (upstream's ExpandContainerVolumeMounts).
    for expr, env in [("$(NOPE)/x", {}), ("$(EMPTY)", {"EMPTY": ""})]:
        missing = expr[2:expr.index(")")]
        with pytest.raises(vm.SubPathError, match=f"^missing value for {missing}$"):
            vm.container_mounts({"name": "app", "volumeMounts": [{"name": "scratch", "mountPath": "/d",
                                                                  "subPathExpr": expr}]}, result.volumes, env)
    with pytest.raises(vm.SubPathError, match='cannot find volume "ghost" to mount into container "app"'):
        vm.container_mounts({"name": "app", "volumeMounts": [{"name": "ghost", "mountPath": "/g"}]},
                            result.volumes, {})


async def test_fs_group_owns_api_volumes(manager: vm.VolumeManager) -> None:
    gid = os.getegid()
    pod = _pod([{"name": "cfg", "configMap": {"name": "cfg", "defaultMode": 0o400}},
                {"name": "api", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}],
               securityContext={"fsGroup": gid})
    result = await manager.mount_pod(pod)
    conf = os.stat(result.volumes["cfg"].host_path / "app.conf")
    token = os.stat(result.volumes["api"].host_path / "token")
    assert (conf.st_mode & 0o777, conf.st_gid) == (0o440, gid)
    assert (token.st_mode & 0o777, token.st_gid) == (0o640, gid)


async def test_claim_failures_name_the_persistent_volume(manager: vm.VolumeManager, sources: FakeObjectSource,
                                                         tmp_path: pathlib.Path) -> None:
    gone, not_dir = tmp_path / "gone", tmp_path / "file"
    not_dir.write_text("")
    for claim, pv, source in [("c1", "pv-local", {"local": {"path": str(gone)}}),
                              ("c2", "pv-host", {"hostPath": {"path": str(not_dir), "type": "Directory"}})]:
        sources.add({"kind": "PersistentVolumeClaim", "metadata": {"name": claim, "namespace": "default"},
                     "spec": {"volumeName": pv}, "status": {"phase": "Bound"}})
        sources.add({"kind": "PersistentVolume", "metadata": {"name": pv}, "spec": source})
    result = await manager.mount_pod(_pod([{"name": "a", "persistentVolumeClaim": {"claimName": "c1"}},
                                           {"name": "b", "persistentVolumeClaim": {"claimName": "c2"}}]))
    assert result.failures == {
        "a": f'MountVolume.NewMounter initialization failed for volume "pv-local" : path "{gone}" does not exist',
        "b": f'MountVolume.SetUp failed for volume "pv-host" : hostPath type check failed: {not_dir} is not a '
             f'directory'}


async def test_disk_empty_dir_size_limit_is_left_to_eviction(manager: vm.VolumeManager,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """A disk emptyDir is a plain directory; its sizeLimit is enforced by eviction (kubelet/eviction)."""
    result = await manager.mount_pod(_pod([{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}]))
    assert result.ok and result.volumes["scratch"].host_path == manager.volume_dir("u1", "empty-dir", "scratch")
    assert [r for r in caplog.records if r.levelname == "WARNING"] == []


def _owned_claim(name: str, owner_uid: str | None) -> dict:
    refs = [{"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": owner_uid, "controller": True}]
    return {"kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": "default", **({"ownerReferences": refs} if owner_uid else {})},
            "spec": {"volumeName": "pv-eph"}, "status": {"phase": "Bound"}}


async def test_ephemeral_volume_mounts_the_pods_own_claim(manager: vm.VolumeManager, sources: FakeObjectSource,
                                                          tmp_path: pathlib.Path) -> None:
    local = tmp_path / "pv-eph"
    local.mkdir()
    sources.add({"kind": "PersistentVolume", "metadata": {"name": "pv-eph"}, "spec": {"local": {"path": str(local)}}})
    sources.add(_owned_claim("web-scratch", "u1"))
    sources.add(_owned_claim("web-foreign", None))
    sources.add(_owned_claim("web-other", "someone-else"))
    template = {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}
    result = await manager.mount_pod(_pod([{"name": n, "ephemeral": template}
                                           for n in ("scratch", "foreign", "other", "missing")]))
    assert result.volumes["scratch"].host_path == local
    assert result.failures["foreign"] == ('MountVolume.SetUp failed for volume "foreign" : PVC default/web-foreign '
                                          'was not created for pod default/web (pod is not owner)')
    assert "(pod is not owner)" in result.failures["other"]
    assert "web-missing" in result.failures["missing"]


async def test_huge_pages_empty_dir_fails_the_mount(manager: vm.VolumeManager) -> None:
    result = await manager.mount_pod(_pod([{"name": "huge", "emptyDir": {"medium": "HugePages"}}]))
    assert result.failures == {"huge": 'MountVolume.SetUp failed for volume "huge" : hugePages storage requested, '
                                       'but there is no resource request for huge pages'}


async def test_projected_sources_are_fetched_concurrently(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    """The pod's TokenRequest and its kube-root-ca.crt GET overlap: here the token is only issued once the
    ConfigMap has been asked for, which a source-by-source mount never reaches (it would wait forever)."""
    asked_for_ca = asyncio.Event()

    class OverlapSource(FakeObjectSource):
        async def get_configmap(self, namespace: str, name: str) -> dict:
            asked_for_ca.set()
            return await super().get_configmap(namespace, name)

        async def request_token(self, namespace: str, service_account: str, **kwargs: Any) -> dict:
            await asked_for_ca.wait()
            return await super().request_token(namespace, service_account, **kwargs)

    sources = OverlapSource(clock=clock)
    sources.add({"kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": "default"},
                 "data": {"ca.crt": "CERT"}})
    manager = vm.VolumeManager(tmp_path / "pods", sources, clock=clock, can_mount=False)
    pod = _pod([{"name": "kube-api-access", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"configMap": {"name": "missing", "items": [{"key": "x", "path": "x"}]}},
    ]}}])
    result = await asyncio.wait_for(manager.mount_pod(pod), 60)
    # Every source still counts, in the spec's order: the missing ConfigMap fails the mount as before.
    assert result.failures == {"kube-api-access": 'MountVolume.SetUp failed for volume "kube-api-access" : '
                                                  'configmap "missing" not found'}
    pod["spec"]["volumes"][0]["projected"]["sources"].pop()
    result = await asyncio.wait_for(manager.mount_pod(pod), 60)
    root = result.volumes["kube-api-access"].host_path
    assert {p.name: p.read_text() for p in root.iterdir() if not p.name.startswith("..")} == {
        "token": "token-1", "ca.crt": "CERT"}  # the first mount's token, cached
