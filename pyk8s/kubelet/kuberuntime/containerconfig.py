"""The CRI ContainerConfig for one container of a pod (upstream ``generateContainerConfig``).

Inputs the manager has already gathered (the pulled image and its user, the
pod's mounted volumes, the sandbox's hostname and IPs) go in as a
``ContainerInputs``; out comes the config, or ``ConfigError`` with upstream's
message (CreateContainerConfigError).  In order: the environment, the mounts
(volumeMounts with subPath, the managed /etc/hosts, the termination message
file), the runAsNonRoot check, ``$(VAR)`` expansion of command and args, the
log directory ``<logs>/<ns>_<pod>_<uid>/<container>/`` with the log at
``<container>/<restartCount>.log`` relative to the sandbox's log directory,
cgroup resources and the security context (with the pod's PID/IPC namespace
modes, seccomp from ``<root-dir>/seccomp``, AppArmor, SELinux, procMount).
"""

from __future__ import annotations

import pathlib
import secrets
from dataclasses import dataclass
from typing import Any

from pyk8s.kubelet.kuberuntime import environment, expansion, labels, profiles, resources, security
from pyk8s.kubelet.kuberuntime.environment import ConfigError
from pyk8s.kubelet.kuberuntime.settings import RuntimeSettings
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.volumes import manager as volumes

Obj = dict[str, Any]


@dataclass
class ContainerInputs:
    pod: Obj
    container: Obj
    restart_count: int
    image: str
    image_uid: int | None
    image_user: str
    volumes: dict[str, volumes.MountedVolume]
    env: environment.EnvContext
    hosts_file: pathlib.Path | None
    log_directory: str  # the sandbox's


def format_pod(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def seccomp_root(settings: RuntimeSettings) -> str:
    """Where Localhost seccomp profiles live: ``<root-dir>/seccomp``, as upstream's kubelet."""
    return str(settings.root_dir / "seccomp")


def _termination_mount(settings: RuntimeSettings, pod: Obj, container: Obj) -> ri.Mount | None:
    path = container.get("terminationMessagePath", "/dev/termination-log")
    if not path:
        return None
    uid = (pod.get("metadata") or {}).get("uid", "")
    cdir = settings.pod_dir(uid) / "containers" / container.get("name", "")
    cdir.mkdir(parents=True, exist_ok=True, mode=0o750)
    # A fresh file per instance: the last instance's message stays readable for its status.
    host = cdir / secrets.token_hex(4)
    host.touch()
    host.chmod(0o666)
    return ri.Mount(container_path=path, host_path=str(host))


def _mounts(settings: RuntimeSettings, inputs: ContainerInputs, env: dict[str, str]) -> list[ri.Mount]:
    try:
        out = volumes.container_mounts(inputs.container, inputs.volumes, env)
    except volumes.SubPathError as exc:
        raise ConfigError(str(exc)) from None
    if inputs.hosts_file is not None and not any(m.container_path == "/etc/hosts" for m in out):
        out.append(ri.Mount(container_path="/etc/hosts", host_path=str(inputs.hosts_file)))
    term = _termination_mount(settings, inputs.pod, inputs.container)
    if term is not None:
        out.append(term)
    return out


def _apply_security(config: ri.ContainerConfig, sec: security.EffectiveSecurity) -> None:
    config.run_as_user, config.run_as_group = sec.run_as_user, sec.run_as_group
    config.privileged, config.readonly_rootfs = sec.privileged, sec.readonly_rootfs
    config.no_new_privs = sec.no_new_privs
    config.capabilities_add, config.capabilities_drop = sec.capabilities_add, sec.capabilities_drop
    config.supplemental_groups = sec.supplemental_groups
    config.pid_mode, config.ipc_mode = sec.pid_mode, sec.ipc_mode
    config.seccomp, config.apparmor, config.selinux = sec.seccomp, sec.apparmor, sec.selinux
    config.masked_paths, config.readonly_paths = sec.masked_paths, sec.readonly_paths


async def generate(settings: RuntimeSettings, inputs: ContainerInputs) -> ri.ContainerConfig:
    pod, ctr = inputs.pod, inputs.container
    env = await environment.make_environment(pod, ctr, inputs.env)
    mounts = _mounts(settings, inputs, env)
    try:
        sec = security.effective(pod, ctr, seccomp_root(settings))
    except profiles.ProfileError as exc:
        raise ConfigError(str(exc)) from None
    uid = inputs.image_uid if inputs.image_uid is not None or inputs.image_user else 0
    refusal = security.verify_run_as_non_root(format_pod(pod), ctr.get("name", ""), sec, uid, inputs.image_user)
    if refusal:
        raise ConfigError(refusal)
    name = ctr.get("name", "")
    log_dir = pathlib.Path(inputs.log_directory) / name
    try:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o755)
    except OSError as exc:
        raise ConfigError(f"create container log directory for container {name} failed: {exc}") from None
    config = ri.ContainerConfig(
        metadata=ri.ContainerMetadata(name=name, attempt=inputs.restart_count),
        image=inputs.image,
        command=expansion.expand_command(list(ctr.get("command") or []), env),
        args=expansion.expand_command(list(ctr.get("args") or []), env),
        working_dir=ctr.get("workingDir") or "",
        envs=env,
        mounts=mounts,
        labels=labels.container_labels(pod, ctr),
        annotations=labels.container_annotations(pod, ctr, inputs.restart_count),
        log_path=f"{name}/{inputs.restart_count}.log",
        stdin=bool(ctr.get("stdin")),
        stdin_once=bool(ctr.get("stdinOnce")),
        tty=bool(ctr.get("tty")),
        resources=resources.linux_resources(pod, ctr, cfs_quota=settings.cpu_cfs_quota,
                                            period_us=settings.cpu_cfs_quota_period_us,
                                            memory_capacity=settings.memory_capacity),
    )
    _apply_security(config, sec)
    return config
