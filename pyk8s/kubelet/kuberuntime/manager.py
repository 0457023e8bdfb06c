"""The kubelet's runtime manager: a bound Pod in, CRI calls out (upstream ``kubeGenericRuntimeManager``).

The API the pod worker calls:

* ``await manager.sync_pod(pod, status=None) -> SyncResult`` — converge the
  runtime on the pod: mount its volumes, compute the actions
  (``podactions``), kill what must go, create the sandbox if needed, start
  init containers in order (sidecars before the app containers), then the app
  containers.  Each step's result carries upstream's reason
  (CrashLoopBackOff, ErrImagePull, ImagePullBackOff, CreateContainerConfigError,
  FailedMount, ...) and message, and the result holds the events to record.
  It is idempotent: call it on every pod update, every resync, and after
  every relist event of the pod.
* ``await manager.kill_pod(pod, grace=None, status=None) -> SyncResult`` —
  preStop hooks and stops within the grace period, then the sandboxes.
* ``await manager.get_pod_status(uid, name, namespace) -> podstatus.PodStatus``
  — sandboxes and container instances read back from the runtime, for the
  status module to turn into v1 PodStatus.
* ``await manager.remove_pod(uid)`` — after the pod is gone from the API and
  killed: remove its containers, sandboxes, volumes, pod and log directories.

Back-offs (container restarts and image pulls, 10 s doubling to 300 s) are
kept per pod and container in ``pyk8s.kubelet.backoff`` objects the caller
may share.  Volumes are (re)mounted on every sync, which is what refreshes
ConfigMap, Secret, downward API and token files in place.
"""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Iterable
from typing import Any

from pyk8s.kubelet import backoff as backoff_mod
from pyk8s.kubelet.kuberuntime import cgroups, containerconfig, hooks, hostsfile, logsymlinks, podactions, sandbox
from pyk8s.kubelet.kuberuntime.environment import ConfigError, EnvContext
from pyk8s.kubelet.kuberuntime.fieldpath import PodNetwork
from pyk8s.kubelet.kuberuntime.images import ImagePuller, PullFailed, PullOutcome
from pyk8s.kubelet.kuberuntime.killing import Killer, field_path
from pyk8s.kubelet.kuberuntime.podstatus import PodStatus, read_pod_status
from pyk8s.kubelet.kuberuntime.results import Action, Event, Reason, StepError, SyncResult, normal, warning
from pyk8s.kubelet.kuberuntime.settings import RuntimeSettings
from pyk8s.kubelet.kuberuntime.sources import ObjectNotFound, ObjectSource
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.status.phase import is_sidecar
from pyk8s.kubelet.volumes.manager import MountedVolume, VolumeManager
from pyk8s.util.clock import REAL_CLOCK, Clock

Obj = dict[str, Any]


def _make_dir(path: str) -> None:
    pathlib.Path(path).mkdir(parents=True, exist_ok=True, mode=0o755)


class _PodContext:
    """What one sync has gathered about the pod before starting containers."""

    def __init__(self, pod: Obj, status: PodStatus, pull_secrets: list[Obj], volumes: dict[str, MountedVolume]):
        self.pod, self.status, self.pull_secrets, self.volumes = pod, status, pull_secrets, volumes
        self.sandbox_id = ""
        self.sandbox_plan: sandbox.SandboxPlan | None = None
        self.ips: list[str] = []
        self.hosts_file: Any = None


class RuntimeManager:
    def __init__(self, runtime: ri.RuntimeService, images: ri.ImageService, sources: ObjectSource,
                 settings: RuntimeSettings, *, clock: Clock = REAL_CLOCK,
                 probes: podactions.ProbeResults | None = None,
                 crash_backoff: backoff_mod.Backoff | None = None,
                 image_backoff: backoff_mod.Backoff | None = None,
                 volumes: VolumeManager | None = None,
                 http_get: hooks.HTTPGetter = hooks.plain_http_get) -> None:
        self.runtime, self.sources, self.settings, self.clock = runtime, sources, settings, clock
        self.probes = probes or podactions.NoProbes()
        self.crash_backoff = crash_backoff or backoff_mod.Backoff()
        self.puller = ImagePuller(images, clock=clock, backoff=image_backoff)
        self.images = images
        self.volumes = volumes or VolumeManager(settings.pods_dir, sources, clock=clock,
                                                allocatable=settings.allocatable)
        self.http_get = http_get
        self.killer = Killer(runtime, clock, http_get)

    # ------------------------------------------------------------------ status
    async def get_pod_status(self, uid: str, name: str = "", namespace: str = "") -> PodStatus:
        return await read_pod_status(self.runtime, uid, name, namespace)

    async def _status_of(self, pod: Obj) -> PodStatus:
        meta = pod.get("metadata") or {}
        return await self.get_pod_status(meta.get("uid", ""), meta.get("name", ""), meta.get("namespace", ""))

    # ------------------------------------------------------------------ kill
    async def kill_pod(self, pod: Obj, grace: int | None = None, status: PodStatus | None = None) -> SyncResult:
        status = status or await self._status_of(pod)
        return await self.killer.kill_pod(pod, status, grace)

    async def remove_pod(self, uid: str) -> None:
        """Removes every runtime object and host directory of a terminated pod (by uid)."""
        status = await self.get_pod_status(uid)
        await self._remove(c.id for c in status.containers)
        log_dirs = set()
        for sb in status.sandboxes:
            log_dirs.add(self.settings.logs_dir / f"{sb.metadata.namespace}_{sb.metadata.name}_{uid}")
            try:
                await self.runtime.stop_pod_sandbox(sb.id)
                await self.runtime.remove_pod_sandbox(sb.id)
            except ri.NotFoundError:
                pass
        await self.volumes.unmount_pod(uid)
        cgroups.remove_pod_cgroups(self.settings.cgroup_root, uid)
        if not (self.settings.pod_dir(uid) / "volumes").exists():
            shutil.rmtree(self.settings.pod_dir(uid), ignore_errors=True)
        for d in log_dirs:
            shutil.rmtree(d, ignore_errors=True)
        self.puller.forget_pod(uid)
        for name in {c.name for c in status.containers}:
            self.crash_backoff.forget(backoff_mod.container_key(uid, name))

    # ------------------------------------------------------------------ sync
    async def sync_pod(self, pod: Obj, status: PodStatus | None = None) -> SyncResult:
        result = SyncResult()
        status = status or await self._status_of(pod)
        pull_secrets = await self._pull_secrets(pod, result)
        mounted = await self.volumes.mount_pod(pod)
        if not mounted.ok:
            for name, message in mounted.failures.items():
                result.add(Action.MOUNT_VOLUMES, name).fail(Reason.FAILED_MOUNT, message)
                result.events.append(warning("FailedMount", message))
            return result
        ctx = _PodContext(pod, status, pull_secrets, mounted.volumes)
        actions = podactions.compute_pod_actions(pod, status, self.probes)
        if actions.create_sandbox and actions.attempt > 0:
            result.events.append(normal("SandboxChanged", "Pod sandbox changed, it will be killed and re-created."))
        if not await self._kill_step(pod, status, actions, result):
            return result
        await self._prune_init_containers(pod, status)
        if not await self._ensure_sandbox(ctx, actions, result):
            return result
        self._write_hosts(ctx)
        spec = pod.get("spec") or {}
        for idx in actions.ephemeral_containers_to_start:
            await self._start(ctx, spec["ephemeralContainers"][idx], Action.START_CONTAINER, result)
        inits = spec.get("initContainers") or []
        for idx in actions.init_containers_to_start:
            ok = await self._start(ctx, inits[idx], Action.INIT_CONTAINER if not is_sidecar(inits[idx])
                                   else Action.START_CONTAINER, result)
            if not ok and not is_sidecar(inits[idx]):
                return result
        containers = spec.get("containers") or []
        for idx in actions.containers_to_start:
            await self._start(ctx, containers[idx], Action.START_CONTAINER, result)
        return result

    async def _pull_secrets(self, pod: Obj, result: SyncResult) -> list[Obj]:
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        found, failed = [], []
        for ref in (pod.get("spec") or {}).get("imagePullSecrets") or []:
            if not ref.get("name"):
                continue
            try:
                found.append(await self.sources.get_secret(namespace, ref["name"]))
            except ObjectNotFound:
                failed.append(ref["name"])
        if failed:
            result.events.append(warning(
                "FailedToRetrieveImagePullSecret",
                f"Unable to retrieve some image pull secrets ({', '.join(failed)}); attempting to pull the image "
                "may not succeed."))
        return found

    async def _kill_step(self, pod: Obj, status: PodStatus, actions: podactions.PodActions,
                         result: SyncResult) -> bool:
        """Kills the pod or the containers to replace; False when the sync must stop here."""
        if actions.kill_pod:
            killed = await self.killer.kill_pod(pod, status)
            result.merge(killed)
            if not killed.ok:
                return False
            if actions.create_sandbox:
                await self._purge_init_containers(pod, status)
            return actions.create_sandbox
        pod_ip = status.ips[0] if status.ips else ""
        for cid, info in actions.containers_to_kill.items():
            current = next(c for c in status.containers if c.id == cid)
            step = result.add(Action.KILL_CONTAINER, info.name)
            events, error = await self.killer.kill_container(pod, current, message=info.message,
                                                             reason=info.reason, pod_ip=pod_ip)
            result.events.extend(events)
            if error:
                step.fail(Reason.KILL_CONTAINER, error)
                return False
        return True

    def _init_names(self, pod: Obj) -> set[str]:
        return {c.get("name", "") for c in (pod.get("spec") or {}).get("initContainers") or []}

    async def _remove(self, ids: Iterable[str]) -> None:
        for cid in ids:
            try:
                await self.runtime.remove_container(cid)
            except ri.NotFoundError:
                pass
            logsymlinks.remove(self.settings.links_dir, cid)

    async def _purge_init_containers(self, pod: Obj, status: PodStatus) -> None:
        """A new sandbox restarts initialization: every old init container instance goes."""
        names = self._init_names(pod)
        await self._remove(c.id for c in status.containers if c.name in names)

    async def _prune_init_containers(self, pod: Obj, status: PodStatus) -> None:
        """Keeps only the newest exited instance of each init container (its status and restart count)."""
        names = self._init_names(pod)
        seen: set[str] = set()
        stale = []
        for c in status.containers:  # newest first
            if c.name not in names or c.state != ri.ContainerState.EXITED:
                continue
            if c.name in seen:
                stale.append(c.id)
            seen.add(c.name)
        await self._remove(stale)

    async def _ensure_sandbox(self, ctx: _PodContext, actions: podactions.PodActions, result: SyncResult) -> bool:
        pod = ctx.pod
        target = sandbox.format_pod(pod)
        try:
            ctx.sandbox_plan = sandbox.sandbox_config(pod, self.settings, actions.attempt)
        except sandbox.SandboxConfigError as exc:
            if actions.create_sandbox:
                self._sandbox_failed(result, target, f'Failed to generate sandbox config for pod "{target}": {exc}',
                                     exc)
            else:
                result.add(Action.CONFIG_POD_SANDBOX, target).fail(
                    Reason.CONFIG_POD_SANDBOX, f'GeneratePodSandboxConfig for pod "{target}" failed: {exc}')
            return False
        result.events.extend(warning(reason, msg) for reason, msg in ctx.sandbox_plan.events)
        if not actions.create_sandbox:
            ctx.sandbox_id, ctx.ips = actions.sandbox_id, list(ctx.status.ips)
            ctx.ips = self._pod_ips(ctx)
            return bool(ctx.sandbox_id)
        try:
            cgroups.ensure_for_pod(ctx.pod, self.settings, ctx.sandbox_plan.config.cgroup_parent)
        except OSError as exc:  # upstream's pod container manager failing, before any sandbox
            result.add(Action.CREATE_POD_SANDBOX, target).fail(Reason.CREATE_POD_SANDBOX, str(exc))
            result.events.append(warning("FailedCreatePodContainer", f"unable to ensure pod container exists: {exc}"))
            return False
        try:
            _make_dir(ctx.sandbox_plan.config.log_directory)
        except OSError as exc:
            self._sandbox_failed(result, target, f'Failed to create log directory for pod "{target}": {exc}', exc)
            return False
        try:
            handler = await sandbox.runtime_handler(ctx.pod, self.sources, self.settings.runtime_handler)
            ctx.sandbox_id = await self.runtime.run_pod_sandbox(ctx.sandbox_plan.config, handler)
            created = await self.runtime.pod_sandbox_status(ctx.sandbox_id)
        except (ri.RuntimeServiceError, sandbox.RuntimeClassError) as exc:
            self._sandbox_failed(result, target, f'Failed to create sandbox for pod "{target}": {exc}', exc)
            return False
        result.add(Action.CREATE_POD_SANDBOX, target)
        ctx.ips = [created.ip, *created.additional_ips] if created.ip else []
        ctx.ips = self._pod_ips(ctx)
        return True

    @staticmethod
    def _sandbox_failed(result: SyncResult, target: str, message: str, exc: Exception) -> None:
        result.add(Action.CREATE_POD_SANDBOX, target).fail(Reason.CREATE_POD_SANDBOX, message)
        result.events.append(warning("FailedCreatePodSandBox", f"Failed to create pod sandbox: {exc}"))

    def _pod_ips(self, ctx: _PodContext) -> list[str]:
        """The sandbox's IPs; a host-network pod has the node's (as its status.podIPs will)."""
        if (ctx.pod.get("spec") or {}).get("hostNetwork") and not ctx.ips:
            return list(self.settings.node_ips)
        return ctx.ips

    def _write_hosts(self, ctx: _PodContext) -> None:
        spec = ctx.pod.get("spec") or {}
        plan = ctx.sandbox_plan
        assert plan is not None
        host_network = bool(spec.get("hostNetwork"))
        ips = ctx.ips
        if not ips:
            return
        content = hostsfile.hosts_content(ips, plan.hostname, plan.domain, spec.get("hostAliases") or [],
                                          host_network=host_network)
        uid = (ctx.pod.get("metadata") or {}).get("uid", "")
        ctx.hosts_file = hostsfile.write_hosts_file(self.settings.pod_dir(uid), content)

    # ------------------------------------------------------------------ starting one container
    async def _start(self, ctx: _PodContext, container: Obj, action: Action, result: SyncResult) -> bool:
        step = result.add(action, container.get("name", ""))
        try:
            await self._start_container(ctx, container, result.events)
        except StepError as exc:
            step.fail(exc.reason, exc.message)
            return False
        return True

    def _back_off(self, ctx: _PodContext, container: Obj, events: list[Event]) -> None:
        """Upstream ``doBackOff``: refuse to restart within the back-off after the last exit."""
        name = container.get("name", "")
        exited = next((c for c in ctx.status.containers
                       if c.name == name and c.state == ri.ContainerState.EXITED), None)
        if exited is None:
            return
        uid = (ctx.pod.get("metadata") or {}).get("uid", "")
        key = backoff_mod.container_key(uid, name)
        finished = exited.finished_at / 1e9
        if self.crash_backoff.in_backoff_since(key, finished, self.clock.now().timestamp()):
            events.append(warning("BackOff", f"Back-off restarting failed container {name} in pod "
                                  f"{sandbox.format_pod(ctx.pod)}", field_path(ctx.pod, name)))
            raise StepError(Reason.CRASH_LOOP_BACK_OFF,
                            backoff_mod.crashloop_message(self.crash_backoff.get(key), name, ctx.pod))
        self.crash_backoff.next(key, finished)

    async def _start_container(self, ctx: _PodContext, container: Obj, events: list[Event]) -> None:
        pod, name = ctx.pod, container.get("name", "")
        path = field_path(pod, name)
        self._back_off(ctx, container, events)
        assert ctx.sandbox_plan is not None
        try:
            pulled = await self.puller.ensure_image(pod, container, ctx.pull_secrets, path, ctx.sandbox_plan.config)
        except PullFailed as exc:
            events.extend(exc.events)
            events.append(warning("Failed", f"Error: {exc.reason}", path))
            raise
        events.extend(pulled.events)
        previous = ctx.status.find(name)
        restart_count = previous.restart_count + 1 if previous is not None else self._restarts_from_logs(ctx, name)
        config = await self._container_config(ctx, container, pulled, restart_count, path, events)
        container_id = await self._create_and_start(ctx, config, path, events)
        await self._post_start(ctx, container, container_id, path, events)

    def _restarts_from_logs(self, ctx: _PodContext, name: str) -> int:
        """With no instance left in the runtime, continue after the newest ``<n>.log`` (upstream does so)."""
        assert ctx.sandbox_plan is not None
        log_dir = ctx.sandbox_plan.config.log_directory
        counts = [int(p.stem) for p in pathlib.Path(log_dir, name).glob("*.log") if p.stem.isdigit()]
        return max(counts) + 1 if counts else 0

    async def _container_config(self, ctx: _PodContext, container: Obj, pulled: PullOutcome, restart_count: int,
                                path: str, events: list[Event]) -> ri.ContainerConfig:
        assert ctx.sandbox_plan is not None
        status = pulled.status
        inputs = containerconfig.ContainerInputs(
            pod=ctx.pod, container=container, restart_count=restart_count, image=pulled.image,
            image_uid=status.uid if status is not None else None, image_user=status.username if status else "",
            volumes=ctx.volumes,
            env=EnvContext(self.sources, PodNetwork(list(ctx.ips), list(self.settings.node_ips)),
                           self.settings.allocatable),
            hosts_file=ctx.hosts_file, log_directory=ctx.sandbox_plan.config.log_directory)
        try:
            config = await containerconfig.generate(self.settings, inputs)
        except ConfigError as exc:
            events.append(warning("Failed", f"Error: {exc}", path))
            raise StepError(Reason.CREATE_CONTAINER_CONFIG, str(exc)) from None
        target = ctx.status.find(container.get("targetContainerName") or "")
        if target is not None:
            config.pid_target_container_id = target.id
        return config

    async def _create_and_start(self, ctx: _PodContext, config: ri.ContainerConfig, path: str,
                                events: list[Event]) -> str:
        assert ctx.sandbox_plan is not None
        name = config.metadata.name
        try:
            container_id = await self.runtime.create_container(ctx.sandbox_id, config, ctx.sandbox_plan.config)
        except ri.RuntimeServiceError as exc:
            events.append(warning("Failed", f"Error: {exc}", path))
            raise StepError(Reason.CREATE_CONTAINER, str(exc)) from None
        events.append(normal("Created", f"Created container {name}", path))
        try:
            await self.runtime.start_container(container_id)
        except ri.RuntimeServiceError as exc:
            events.append(warning("Failed", f"Error: {exc}", path))
            raise StepError(Reason.RUN_CONTAINER, str(exc)) from None
        events.append(normal("Started", f"Started container {name}", path))
        meta = ctx.pod.get("metadata") or {}
        link = logsymlinks.link_path(self.settings.links_dir, meta.get("name", ""), meta.get("namespace", ""), name,
                                     container_id)
        logsymlinks.create(self.settings.links_dir, link, f"{ctx.sandbox_plan.config.log_directory}/{config.log_path}")
        return container_id

    async def _post_start(self, ctx: _PodContext, container: Obj, container_id: str, path: str,
                          events: list[Event]) -> None:
        handler = (container.get("lifecycle") or {}).get("postStart")
        if not handler:
            return
        message = await hooks.run_hook(handler, runtime=self.runtime, container_id=container_id, container=container,
                                       pod_ref=sandbox.format_pod(ctx.pod), pod_ip=ctx.ips[0] if ctx.ips else "",
                                       http_get=self.http_get, clock=self.clock)
        if not message:
            return
        events.append(warning("FailedPostStartHook", "PostStartHook failed", path))
        status = await read_pod_status(self.runtime, ctx.status.uid)
        current = next((c for c in status.containers if c.id == container_id), None)
        if current is not None:
            kill_events, _ = await self.killer.kill_container(ctx.pod, current, message="FailedPostStartHook",
                                                              pod_ip=ctx.ips[0] if ctx.ips else "")
            events.extend(kill_events)
        raise StepError(Reason.POST_START_HOOK, message)
