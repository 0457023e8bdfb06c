"""Translation between our interface dataclasses and CRI v1 protobuf messages.

Kept apart from the client so the mapping is unit-testable without a socket,
and so no protobuf class escapes this package.
"""

from __future__ import annotations

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri.generated import api_pb2 as pb

_PROTOCOLS = {"TCP": pb.TCP, "UDP": pb.UDP, "SCTP": pb.SCTP}
_SANDBOX_STATES = {pb.SANDBOX_READY: ri.SandboxState.READY, pb.SANDBOX_NOTREADY: ri.SandboxState.NOTREADY}
_CONTAINER_STATES = {
    pb.CONTAINER_CREATED: ri.ContainerState.CREATED,
    pb.CONTAINER_RUNNING: ri.ContainerState.RUNNING,
    pb.CONTAINER_EXITED: ri.ContainerState.EXITED,
    pb.CONTAINER_UNKNOWN: ri.ContainerState.UNKNOWN,
}
_SANDBOX_STATES_TO_PB = {v: k for k, v in _SANDBOX_STATES.items()}
_CONTAINER_STATES_TO_PB = {v: k for k, v in _CONTAINER_STATES.items()}


def sandbox_config_to_pb(cfg: ri.PodSandboxConfig) -> pb.PodSandboxConfig:
    md = cfg.metadata
    msg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=md.name, uid=md.uid, namespace=md.namespace, attempt=md.attempt),
        hostname=cfg.hostname,
        log_directory=cfg.log_directory,
        labels=cfg.labels,
        annotations=cfg.annotations,
        port_mappings=[
            pb.PortMapping(
                protocol=_PROTOCOLS.get(p.protocol.upper(), pb.TCP),
                container_port=p.container_port, host_port=p.host_port, host_ip=p.host_ip,
            )
            for p in cfg.port_mappings
        ],
    )
    if cfg.dns is not None:
        msg.dns_config.CopyFrom(pb.DNSConfig(servers=cfg.dns.servers, searches=cfg.dns.searches, options=cfg.dns.options))
    linux = msg.linux
    linux.cgroup_parent = cfg.cgroup_parent
    linux.sysctls.update(cfg.sysctls)
    sc = linux.security_context
    sc.privileged = cfg.privileged
    # PID namespace per container, as the kubelet sets it for v1 pods.
    sc.namespace_options.pid = pb.CONTAINER
    sc.namespace_options.network = pb.NODE if cfg.host_network else pb.POD
    return msg


def container_config_to_pb(cfg: ri.ContainerConfig) -> pb.ContainerConfig:
    msg = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=cfg.metadata.name, attempt=cfg.metadata.attempt),
        image=pb.ImageSpec(image=cfg.image),
        command=cfg.command,
        args=cfg.args,
        working_dir=cfg.working_dir,
        envs=[pb.KeyValue(key=k, value=v) for k, v in cfg.envs.items()],
        mounts=[pb.Mount(container_path=m.container_path, host_path=m.host_path, readonly=m.readonly) for m in cfg.mounts],
        labels=cfg.labels,
        annotations=cfg.annotations,
        log_path=cfg.log_path,
        stdin=cfg.stdin,
        stdin_once=cfg.stdin_once,
        tty=cfg.tty,
    )
    linux = msg.linux
    if cfg.resources is not None:
        r = cfg.resources
        linux.resources.CopyFrom(
            pb.LinuxContainerResources(
                cpu_period=r.cpu_period, cpu_quota=r.cpu_quota, cpu_shares=r.cpu_shares,
                memory_limit_in_bytes=r.memory_limit_in_bytes, oom_score_adj=r.oom_score_adj, cpuset_cpus=r.cpuset_cpus,
            )
        )
    sc = linux.security_context
    sc.privileged = cfg.privileged
    sc.readonly_rootfs = cfg.readonly_rootfs
    sc.namespace_options.pid = pb.CONTAINER
    if cfg.run_as_user is not None:
        sc.run_as_user.value = cfg.run_as_user
    if cfg.run_as_group is not None:
        sc.run_as_group.value = cfg.run_as_group
    return msg


def _sandbox_md(md: pb.PodSandboxMetadata) -> ri.PodSandboxMetadata:
    return ri.PodSandboxMetadata(name=md.name, namespace=md.namespace, uid=md.uid, attempt=md.attempt)


def sandbox_from_pb(item: pb.PodSandbox) -> ri.PodSandbox:
    return ri.PodSandbox(
        id=item.id, metadata=_sandbox_md(item.metadata), state=_SANDBOX_STATES[item.state],
        created_at=item.created_at, labels=dict(item.labels), annotations=dict(item.annotations),
        runtime_handler=item.runtime_handler,
    )


def sandbox_status_from_pb(st: pb.PodSandboxStatus) -> ri.PodSandbox:
    return ri.PodSandbox(
        id=st.id, metadata=_sandbox_md(st.metadata), state=_SANDBOX_STATES[st.state], created_at=st.created_at,
        labels=dict(st.labels), annotations=dict(st.annotations), ip=st.network.ip,
        additional_ips=[ip.ip for ip in st.network.additional_ips], runtime_handler=st.runtime_handler,
    )


def sandbox_filter_to_pb(f: ri.PodSandboxFilter | None) -> pb.PodSandboxFilter | None:
    if f is None:
        return None
    msg = pb.PodSandboxFilter(id=f.id, label_selector=f.label_selector)
    if f.state is not None:
        msg.state.state = _SANDBOX_STATES_TO_PB[f.state]
    return msg


def container_filter_to_pb(f: ri.ContainerFilter | None) -> pb.ContainerFilter | None:
    if f is None:
        return None
    msg = pb.ContainerFilter(id=f.id, pod_sandbox_id=f.pod_sandbox_id, label_selector=f.label_selector)
    if f.state is not None:
        msg.state.state = _CONTAINER_STATES_TO_PB[f.state]
    return msg


def container_from_pb(c: pb.Container) -> ri.Container:
    return ri.Container(
        id=c.id, pod_sandbox_id=c.pod_sandbox_id,
        metadata=ri.ContainerMetadata(name=c.metadata.name, attempt=c.metadata.attempt),
        image=c.image.image, image_ref=c.image_ref, state=_CONTAINER_STATES[c.state], created_at=c.created_at,
        labels=dict(c.labels), annotations=dict(c.annotations),
    )


def container_status_from_pb(st: pb.ContainerStatus, info: dict[str, str]) -> ri.ContainerStatus:
    pid = 0
    if "info" in info:
        import orjson

        try:
            pid = int(orjson.loads(info["info"]).get("pid", 0))
        except (ValueError, TypeError):
            pid = 0
    return ri.ContainerStatus(
        id=st.id, metadata=ri.ContainerMetadata(name=st.metadata.name, attempt=st.metadata.attempt),
        state=_CONTAINER_STATES[st.state], created_at=st.created_at, started_at=st.started_at,
        finished_at=st.finished_at, exit_code=st.exit_code, image=st.image.image, image_ref=st.image_ref,
        reason=st.reason, message=st.message, labels=dict(st.labels), annotations=dict(st.annotations),
        log_path=st.log_path,
        mounts=[ri.Mount(container_path=m.container_path, host_path=m.host_path, readonly=m.readonly) for m in st.mounts],
        pid=pid,
    )


def stats_from_pb(s: pb.ContainerStats) -> ri.ContainerStats:
    return ri.ContainerStats(
        id=s.attributes.id, name=s.attributes.metadata.name, timestamp=s.cpu.timestamp or s.memory.timestamp,
        cpu_usage_core_nanoseconds=s.cpu.usage_core_nano_seconds.value,
        cpu_usage_nano_cores=s.cpu.usage_nano_cores.value,
        memory_working_set_bytes=s.memory.working_set_bytes.value,
        memory_usage_bytes=s.memory.usage_bytes.value,
        labels=dict(s.attributes.labels), annotations=dict(s.attributes.annotations),
    )


def image_from_pb(img: pb.Image) -> ri.Image:
    return ri.Image(
        id=img.id, repo_tags=list(img.repo_tags), repo_digests=list(img.repo_digests), size=img.size,
        uid=img.uid.value if img.HasField("uid") else None, username=img.username, pinned=img.pinned,
    )
