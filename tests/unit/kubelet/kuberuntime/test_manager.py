"""RuntimeManager.sync_pod / kill_pod / get_pod_status against the FakeRuntime."""

from __future__ import annotations

import pathlib

from pyk8s.kubelet.kuberuntime import labels
from pyk8s.kubelet.kuberuntime.manager import RuntimeManager
from pyk8s.kubelet.kuberuntime.results import SyncResult
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.testing.fake_clock import FakeClock
from pyk8s.testing.fake_objects import FakeObjectSource
from pyk8s.testing.fake_runtime import FakeRuntime

from .conftest import BUSYBOX, ctr, make_pod


def _read(path: str) -> str:
    return pathlib.Path(path).read_text()


def _write(path: str, text: str) -> None:
    pathlib.Path(path).write_text(text)


def _events(result: SyncResult) -> list[tuple[str, str, str]]:
    return [(e.reason, e.message, e.field_path) for e in result.events]


def _started(runtime: FakeRuntime) -> list[str]:
    return [c[2].metadata.name for c in runtime.calls if c[0] == "create_container"]


def _id_of(runtime: FakeRuntime, name: str, state: ri.ContainerState = ri.ContainerState.RUNNING) -> str:
    return next(c.info.id for c in runtime.containers.values()
                if c.info.metadata.name == name and c.info.state == state)


async def test_first_sync_creates_sandbox_and_starts_containers(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(containers=[ctr("app", command=["sh", "-c", "echo $(GREETING)"],
                                   env=[{"name": "GREETING", "value": "hi"}]), ctr("sidecar")])
    result = await manager.sync_pod(pod)
    assert result.ok, result.steps
    assert _events(result) == [
        ("Pulled", f'Container image "{BUSYBOX}" already present on machine', "spec.containers{app}"),
        ("Created", "Created container app", "spec.containers{app}"),
        ("Started", "Started container app", "spec.containers{app}"),
        ("Pulled", f'Container image "{BUSYBOX}" already present on machine', "spec.containers{sidecar}"),
        ("Created", "Created container sidecar", "spec.containers{sidecar}"),
        ("Started", "Started container sidecar", "spec.containers{sidecar}"),
    ]
    config = next(c.config for c in runtime.containers.values() if c.config.metadata.name == "app")
    assert config.command == ["sh", "-c", "echo hi"] and config.log_path == "app/0.log"
    assert config.labels[labels.CONTAINER_NAME] == "app" and config.annotations[labels.RESTART_COUNT] == "0"
    paths = {m.container_path for m in config.mounts}
    assert {"/etc/hosts", "/dev/termination-log"} <= paths
    hosts = next(m.host_path for m in config.mounts if m.container_path == "/etc/hosts")
    assert "\tweb\n" in _read(hosts)

    calls = len(runtime.calls)
    again = await manager.sync_pod(pod)
    assert again.ok and again.steps == [] and again.events == []
    assert not any(c[0] in ("run_pod_sandbox", "create_container") for c in runtime.calls[calls:])

    status = await manager.get_pod_status("uid-1")
    assert [c.name for c in status.running()] == ["sidecar", "app"] or {c.name for c in status.running()} == {
        "app", "sidecar"}
    assert status.ips and status.ips[0].startswith("10.244.0.")


async def test_init_containers_run_in_order_then_apps(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(init=[ctr("init-a"), ctr("init-b")], containers=[ctr("app")])
    await manager.sync_pod(pod)
    assert _started(runtime) == ["init-a"]
    await manager.sync_pod(pod)  # still running: nothing new
    assert _started(runtime) == ["init-a"]
    runtime.exit_container(_id_of(runtime, "init-a"), 0)
    await manager.sync_pod(pod)
    assert _started(runtime) == ["init-a", "init-b"]
    runtime.exit_container(_id_of(runtime, "init-b"), 0)
    result = await manager.sync_pod(pod)
    assert result.ok and _started(runtime) == ["init-a", "init-b", "app"]
    await manager.sync_pod(pod)
    assert _started(runtime) == ["init-a", "init-b", "app"]


async def test_failed_init_container_under_never_kills_the_pod(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(init=[ctr("init")], containers=[ctr("app")], restartPolicy="Never")
    await manager.sync_pod(pod)
    runtime.exit_container(_id_of(runtime, "init"), 3)
    result = await manager.sync_pod(pod)
    assert _started(runtime) == ["init"]
    assert all(s.state == ri.SandboxState.NOTREADY for s in runtime.sandboxes.values())
    assert any(s.action == "KillPodSandbox" for s in result.steps)
    await manager.sync_pod(pod)
    assert len(runtime.sandboxes) == 1  # no new sandbox for a finished Never pod


async def test_failed_init_container_restarts_with_back_off(manager: RuntimeManager, runtime: FakeRuntime,
                                                            clock: FakeClock) -> None:
    pod = make_pod(init=[ctr("init")], containers=[ctr("app")])
    await manager.sync_pod(pod)
    runtime.exit_container(_id_of(runtime, "init"), 1)
    await manager.sync_pod(pod)  # first restart is immediate
    assert _started(runtime) == ["init", "init"]
    runtime.exit_container(_id_of(runtime, "init"), 1)
    result = await manager.sync_pod(pod)
    step = result.error_for("init")
    assert step is not None and step.error == "CrashLoopBackOff"
    assert step.message == "back-off 10s restarting failed container=init pod=web_default(uid-1)"
    assert _events(result)[-1] == ("BackOff", "Back-off restarting failed container init in pod web_default(uid-1)",
                                   "spec.initContainers{init}")
    init_instances = [c for c in runtime.containers.values() if c.info.metadata.name == "init"]
    assert len(init_instances) == 1  # older exited init instances are pruned
    await clock.advance(10)
    await manager.sync_pod(pod)
    assert _started(runtime) == ["init", "init", "init"]


async def test_sidecars_start_before_apps_and_keep_running(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(init=[ctr("proxy", restartPolicy="Always"), ctr("migrate")], containers=[ctr("app")])
    await manager.sync_pod(pod)
    assert _started(runtime) == ["proxy"]
    await manager.sync_pod(pod)
    assert _started(runtime) == ["proxy", "migrate"]
    runtime.exit_container(_id_of(runtime, "migrate"), 0)
    await manager.sync_pod(pod)
    assert _started(runtime) == ["proxy", "migrate", "app"]
    runtime.exit_container(_id_of(runtime, "proxy"), 137)
    await manager.sync_pod(pod)  # a sidecar restarts on its own
    assert _started(runtime) == ["proxy", "migrate", "app", "proxy"]


async def test_crash_loop_back_off_doubles(manager: RuntimeManager, runtime: FakeRuntime, clock: FakeClock) -> None:
    pod = make_pod()
    await manager.sync_pod(pod)
    messages = []
    for delay in (0, 10, 20, 40):
        runtime.exit_container(_id_of(runtime, "app"), 1)
        result = await manager.sync_pod(pod)
        if delay:
            messages.append(result.error_for("app").message)  # type: ignore[union-attr]
            await clock.advance(delay - 1)
            assert (await manager.sync_pod(pod)).error_for("app") is not None
            await clock.advance(1)
            assert (await manager.sync_pod(pod)).ok
    assert [m.split()[1] for m in messages] == ["10s", "20s", "40s"]
    status = await manager.get_pod_status("uid-1")
    assert status.find("app").restart_count == 4  # type: ignore[union-attr]
    newest = next(c for c in runtime.containers.values() if c.info.state == ri.ContainerState.RUNNING)
    assert newest.config.log_path == "app/4.log" and newest.config.metadata.attempt == 4


async def test_on_failure_does_not_restart_success(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(restartPolicy="OnFailure")
    await manager.sync_pod(pod)
    runtime.exit_container(_id_of(runtime, "app"), 0)
    await manager.sync_pod(pod)
    assert _started(runtime) == ["app"]
    assert all(s.state == ri.SandboxState.NOTREADY for s in runtime.sandboxes.values())


async def test_changed_image_replaces_the_container(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod()
    await manager.sync_pod(pod)
    old = _id_of(runtime, "app")
    runtime.images.add("docker.io/library/busybox:1.37")
    pod["spec"]["containers"][0]["image"] = "docker.io/library/busybox:1.37"
    result = await manager.sync_pod(pod)
    assert ("Killing", "Container app definition changed, will be restarted", "spec.containers{app}") in _events(result)
    assert runtime.containers[old].info.state == ri.ContainerState.EXITED
    assert runtime.containers[_id_of(runtime, "app")].config.image == "docker.io/library/busybox:1.37"


async def test_kill_pod_runs_pre_stop_within_grace(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(containers=[ctr("app", lifecycle={"preStop": {"exec": {"command": ["sh", "-c", "sleep 1"]}}})],
                   terminationGracePeriodSeconds=45)
    await manager.sync_pod(pod)
    cid = _id_of(runtime, "app")
    result = await manager.kill_pod(pod)
    assert result.ok
    assert ("exec_sync", cid, ["sh", "-c", "sleep 1"], 0) in runtime.calls
    assert ("stop_container", cid, 45) in runtime.calls
    assert _events(result) == [("Killing", "Stopping container app", "spec.containers{app}")]
    assert all(s.state == ri.SandboxState.NOTREADY for s in runtime.sandboxes.values())

    await manager.sync_pod(make_pod(uid="uid-2"))
    pod2 = make_pod(uid="uid-2")
    pod2["metadata"]["deletionGracePeriodSeconds"] = 0
    await manager.kill_pod(pod2, grace=0)
    assert ("stop_container", _id_of(runtime, "app", ri.ContainerState.EXITED) and
            next(c for c in runtime.calls if c[0] == "stop_container" and c[2] == 0)[1], 0) in runtime.calls


async def test_failed_pre_stop_is_reported_and_stop_follows(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    runtime.exec_handler = lambda cid, cmd: ri.ExecResult(1, b"", b"boom")
    pod = make_pod(containers=[ctr("app", lifecycle={"preStop": {"exec": {"command": ["false"]}}})])
    await manager.sync_pod(pod)
    result = await manager.kill_pod(pod)
    assert ("FailedPreStopHook", "PreStopHook failed", "spec.containers{app}") in _events(result)
    assert runtime.containers[_id_of(runtime, "app", ri.ContainerState.EXITED)].info.state == ri.ContainerState.EXITED


async def test_sidecars_stop_after_app_containers(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(init=[ctr("logger", restartPolicy="Always"), ctr("proxy", restartPolicy="Always")],
                   containers=[ctr("app")])
    for _ in range(3):
        await manager.sync_pod(pod)
    assert set(_started(runtime)) == {"logger", "proxy", "app"}
    mark = len(runtime.calls)
    await manager.kill_pod(pod)
    stops = [runtime.containers[c[1]].config.metadata.name for c in runtime.calls[mark:] if c[0] == "stop_container"]
    assert stops == ["app", "proxy", "logger"]


async def test_post_start_failure_kills_the_container(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    runtime.exec_handler = lambda cid, cmd: ri.ExecResult(2, b"out", b"err")
    pod = make_pod(containers=[ctr("app", lifecycle={"postStart": {"exec": {"command": ["sh", "-c", "exit 2"]}}})])
    result = await manager.sync_pod(pod)
    step = result.error_for("app")
    assert step is not None and step.error == "PostStartHookError"
    assert step.message == ('Exec lifecycle hook ([sh -c exit 2]) for Container "app" in Pod "web_default(uid-1)" '
                            "failed - error: command 'sh -c exit 2' exited with 2: err, message: \"outerr\"")
    assert ("FailedPostStartHook", "PostStartHook failed", "spec.containers{app}") in _events(result)
    assert ("Killing", "FailedPostStartHook", "spec.containers{app}") in _events(result)


async def test_create_container_config_error(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(containers=[ctr("app", env=[{"name": "X", "valueFrom": {
        "configMapKeyRef": {"name": "settings", "key": "x"}}}])])
    result = await manager.sync_pod(pod)
    step = result.error_for("app")
    assert step is not None and (step.error, step.message) == ("CreateContainerConfigError",
                                                               'configmap "settings" not found')
    assert ("Failed", 'Error: configmap "settings" not found', "spec.containers{app}") in _events(result)
    assert not any(c[0] == "create_container" for c in runtime.calls)


async def test_run_as_non_root_refuses_a_root_image(manager: RuntimeManager) -> None:
    pod = make_pod(containers=[ctr("app", securityContext={"runAsNonRoot": True})])
    step = (await manager.sync_pod(pod)).error_for("app")
    assert step is not None and step.error == "CreateContainerConfigError"
    assert step.message == ('container has runAsNonRoot and image will run as root (pod: "web_default(uid-1)", '
                            "container: app)")


async def test_image_errors_surface_as_step_reasons(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(containers=[ctr("app", image="missing:1", imagePullPolicy="Never")])
    result = await manager.sync_pod(pod)
    assert result.error_for("app").error == "ErrImageNeverPull"  # type: ignore[union-attr]
    assert ("Failed", "Error: ErrImageNeverPull", "spec.containers{app}") in _events(result)
    runtime.pull_errors["gone:1"] = ri.ImageNotFoundError("not found")
    pod = make_pod(uid="uid-2", containers=[ctr("app", image="gone:1")])
    assert (await manager.sync_pod(pod)).error_for("app").error == "ErrImagePull"  # type: ignore[union-attr]
    result = await manager.sync_pod(pod)
    assert result.error_for("app").error == "ImagePullBackOff"  # type: ignore[union-attr]
    assert ("Failed", "Error: ImagePullBackOff", "spec.containers{app}") in _events(result)


async def test_missing_pull_secret_is_an_event(manager: RuntimeManager) -> None:
    pod = make_pod(imagePullSecrets=[{"name": "regcred"}, {"name": "other"}])
    result = await manager.sync_pod(pod)
    assert result.ok
    assert _events(result)[0] == ("FailedToRetrieveImagePullSecret", "Unable to retrieve some image pull secrets "
                                  "(regcred, other); attempting to pull the image may not succeed.", "")


async def test_failed_mount_blocks_the_sandbox(manager: RuntimeManager, runtime: FakeRuntime,
                                               sources: FakeObjectSource) -> None:
    pod = make_pod(volumes=[{"name": "cfg", "configMap": {"name": "app-config"}}],
                   containers=[ctr("app", volumeMounts=[{"name": "cfg", "mountPath": "/etc/app"}])])
    result = await manager.sync_pod(pod)
    message = 'MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found'
    assert [(s.action, s.error, s.message) for s in result.steps] == [("MountVolumes", "FailedMount", message)]
    assert _events(result) == [("FailedMount", message, "")]
    assert runtime.sandboxes == {}
    sources.add({"kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": "default"},
                 "data": {"app.conf": "x=1"}})
    assert (await manager.sync_pod(pod)).ok
    mount = next(m for m in runtime.containers[_id_of(runtime, "app")].config.mounts if m.container_path == "/etc/app")
    assert mount.readonly and _read(f"{mount.host_path}/app.conf") == "x=1"


async def test_sandbox_recreated_when_not_ready(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(init=[ctr("init")], containers=[ctr("app")])
    await manager.sync_pod(pod)
    runtime.exit_container(_id_of(runtime, "init"), 0)
    await manager.sync_pod(pod)
    first = next(iter(runtime.sandboxes))
    await runtime.stop_pod_sandbox(first)  # e.g. the node rebooted
    result = await manager.sync_pod(pod)
    assert ("SandboxChanged", "Pod sandbox changed, it will be killed and re-created.", "") in _events(result)
    newest = max(runtime.sandboxes.values(), key=lambda s: s.metadata.attempt)
    assert newest.id != first and newest.metadata.attempt == 1
    assert _started(runtime)[-1] == "init"  # initialization starts over
    calls = len(runtime.calls)
    assert (await manager.sync_pod(pod)).ok  # the new sandbox is the current one now
    assert not any(c[0] == "run_pod_sandbox" for c in runtime.calls[calls:])
    assert len([c for c in runtime.containers.values() if c.info.metadata.name == "init"]) == 1


async def test_status_reads_termination_messages(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    pod = make_pod(containers=[ctr("app"), ctr("logs", terminationMessagePolicy="FallbackToLogsOnError")],
                   restartPolicy="Never")
    await manager.sync_pod(pod)
    app = runtime.containers[_id_of(runtime, "app")]
    term = next(m.host_path for m in app.config.mounts if m.container_path == "/dev/termination-log")
    _write(term, "all done")
    runtime.exit_container(app.info.id, 0)
    logs = runtime.containers[_id_of(runtime, "logs")]
    _write(logs.log_path, "2026-01-01T00:00:00Z stderr F first\n"
                                          "2026-01-01T00:00:01Z stderr P part\n"
                                          "2026-01-01T00:00:01Z stderr F ial\n")
    runtime.exit_container(logs.info.id, 2)
    status = await manager.get_pod_status("uid-1", "web", "default")
    assert status.find("app").message == "all done"  # type: ignore[union-attr]
    assert status.find("logs").message == "first\npartial\n"  # type: ignore[union-attr]
    assert status.find("logs").exit_code == 2 and status.find("logs").hash  # type: ignore[union-attr]


async def test_remove_pod_cleans_runtime_and_directories(manager: RuntimeManager, runtime: FakeRuntime,
                                                         sources: FakeObjectSource) -> None:
    sources.add({"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": {"k": "v"}})
    pod = make_pod(volumes=[{"name": "c", "configMap": {"name": "c"}}, {"name": "scratch", "emptyDir": {}}])
    await manager.sync_pod(pod)
    app = _id_of(runtime, "app")
    link = manager.settings.links_dir / f"web_default_app-{app}.log"
    assert link.is_symlink() and str(link.readlink()).endswith("default_web_uid-1/app/0.log")
    await manager.kill_pod(pod)
    await manager.remove_pod("uid-1")
    assert runtime.sandboxes == {} and runtime.containers == {}
    assert not link.is_symlink()
    assert not manager.settings.pod_dir("uid-1").exists()
    assert not (manager.settings.logs_dir / "default_web_uid-1").exists()


async def test_host_network_pod_uses_node_addresses(manager: RuntimeManager, runtime: FakeRuntime,
                                                    sources: FakeObjectSource) -> None:
    pod = make_pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet", hostAliases=[
        {"ip": "10.1.2.3", "hostnames": ["db.local"]}], containers=[ctr("app", env=[
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}])])
    assert (await manager.sync_pod(pod)).ok
    sandbox_config = next(c for c in runtime.calls if c[0] == "run_pod_sandbox")[1]
    assert sandbox_config.host_network and sandbox_config.hostname == ""
    assert sandbox_config.dns.servers == ["10.96.0.10"]
    config = runtime.containers[_id_of(runtime, "app")].config
    assert config.envs["IP"] == "192.168.1.10"
    hosts = next(m.host_path for m in config.mounts if m.container_path == "/etc/hosts")
    assert _read(hosts).endswith("# Entries added by HostAliases.\n10.1.2.3\tdb.local\n")


async def test_ephemeral_container_starts_once_in_the_target_pid_namespace(manager: RuntimeManager,
                                                                          runtime: FakeRuntime) -> None:
    pod = make_pod()
    await manager.sync_pod(pod)
    app = _id_of(runtime, "app")
    pod["spec"]["ephemeralContainers"] = [ctr("debugger", targetContainerName="app", stdin=True, tty=True)]
    result = await manager.sync_pod(pod)
    assert ("Started", "Started container debugger", "spec.ephemeralContainers{debugger}") in _events(result)
    config = runtime.containers[_id_of(runtime, "debugger")].config
    assert config.pid_target_container_id == app and config.stdin and config.tty
    runtime.exit_container(_id_of(runtime, "debugger"), 0)
    await manager.sync_pod(pod)
    assert _started(runtime) == ["app", "debugger"]


def test_probe_grace_period_overrides_the_pod_on_probe_kills() -> None:
    from pyk8s.kubelet.kuberuntime.killing import grace_period
    c = ctr("app", livenessProbe={"exec": {"command": ["true"]}, "terminationGracePeriodSeconds": 5})
    pod = make_pod(containers=[c], terminationGracePeriodSeconds=60)
    assert grace_period(pod, c, "LivenessProbe") == 5 and grace_period(pod, c, "") == 60
    pod["metadata"]["deletionGracePeriodSeconds"] = 7
    assert grace_period(pod, c, "LivenessProbe") == 7


async def test_sandbox_failures_are_reported_as_upstream(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    runtime.fail_next["run_pod_sandbox"] = ri.RuntimeServiceError("failed to setup network for sandbox: boom")
    result = await manager.sync_pod(make_pod())
    assert [(s.action, s.error, s.message) for s in result.steps] == [
        ("CreatePodSandbox", "CreatePodSandboxError",
         'Failed to create sandbox for pod "web_default(uid-1)": failed to setup network for sandbox: boom')]
    assert _events(result) == [("FailedCreatePodSandBox",
                                "Failed to create pod sandbox: failed to setup network for sandbox: boom", "")]
    bad = make_pod(uid="uid-2", hostname="Not_A_Label")
    step = (await manager.sync_pod(bad)).steps[0]
    assert (step.error, step.message) == ("CreatePodSandboxError", 'Failed to generate sandbox config for pod '
                                          '"web_default(uid-2)": pod Hostname "Not_A_Label" is not a valid DNS label')
    assert (await manager.sync_pod(make_pod())).ok  # the next sync retries


async def test_a_container_start_asks_the_runtime_for_its_image_once(manager: RuntimeManager,
                                                                      runtime: FakeRuntime) -> None:
    """The puller's ImageStatus (present? which user?) feeds the container config: no second round trip."""
    result = await manager.sync_pod(make_pod(containers=[ctr("app")]))
    assert result.ok, result.steps
    assert [c for c in runtime.calls if c[0] == "image_status"] == [("image_status", BUSYBOX)]
