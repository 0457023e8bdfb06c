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
_NS_MODES = {"POD": pb.POD, "CONTAINER": pb.CONTAINER, "NODE": pb.NODE}
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
    sc.namespace_options.pid = _NS_MODES[cfg.pid_mode]
    sc.namespace_options.ipc = _NS_MODES[cfg.ipc_mode]
    sc.namespace_options.network = pb.NODE if cfg.host_network else pb.POD
    if cfg.run_as_user is not None:
        sc.run_as_user.value = cfg.run_as_user
    if cfg.run_as_group is not None:
        sc.run_as_group.value = cfg.run_as_group
    sc.supplemental_groups.extend(cfg.supplemental_groups)
    if cfg.seccomp is not None:
        sc.seccomp.CopyFrom(_profile_to_pb(cfg.seccomp))
    if cfg.selinux is not None:
        sc.selinux_options.CopyFrom(_selinux_to_pb(cfg.selinux))
    return msg


def _profile_to_pb(profile: ri.SecurityProfile) -> pb.SecurityProfile:
    return pb.SecurityProfile(profile_type=profile.profile_type,
                              localhost_ref=profile.localhost_ref)


def _profile_from_pb(sc: pb.LinuxContainerSecurityContext | pb.LinuxSandboxSecurityContext,
                     name: str) -> ri.SecurityProfile | None:
    if not sc.HasField(name):
        return None
    msg = getattr(sc, name)
    return ri.SecurityProfile(pb.SecurityProfile.ProfileType.Name(msg.profile_type), msg.localhost_ref)


def _selinux_to_pb(opt: ri.SELinuxOption) -> pb.SELinuxOption:
    return pb.SELinuxOption(user=opt.user, role=opt.role, type=opt.type, level=opt.level)


def _selinux_from_pb(sc: pb.LinuxContainerSecurityContext | pb.LinuxSandboxSecurityContext) -> ri.SELinuxOption | None:
    if not sc.HasField("selinux_options"):
        return None
    o = sc.selinux_options
    return ri.SELinuxOption(o.user, o.role, o.type, o.level)


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
    sc.namespace_options.pid = _NS_MODES[cfg.pid_mode]
    sc.namespace_options.ipc = _NS_MODES[cfg.ipc_mode]
    if cfg.run_as_user is not None:
        sc.run_as_user.value = cfg.run_as_user
    if cfg.run_as_group is not None:
        sc.run_as_group.value = cfg.run_as_group
    sc.no_new_privs = cfg.no_new_privs
    sc.capabilities.add_capabilities.extend(cfg.capabilities_add)
    sc.capabilities.drop_capabilities.extend(cfg.capabilities_drop)
    sc.supplemental_groups.extend(cfg.supplemental_groups)
    sc.masked_paths.extend(cfg.masked_paths)
    sc.readonly_paths.extend(cfg.readonly_paths)
    if cfg.seccomp is not None:
        sc.seccomp.CopyFrom(_profile_to_pb(cfg.seccomp))
    if cfg.apparmor is not None:
        sc.apparmor.CopyFrom(_profile_to_pb(cfg.apparmor))
    if cfg.selinux is not None:
        sc.selinux_options.CopyFrom(_selinux_to_pb(cfg.selinux))
    if cfg.pid_target_container_id:
        sc.namespace_options.pid = pb.TARGET
        sc.namespace_options.target_id = cfg.pid_target_container_id
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
        writable_layer_bytes=s.writable_layer.used_bytes.value if s.HasField("writable_layer") else None,
        writable_layer_inodes=s.writable_layer.inodes_used.value if s.HasField("writable_layer") else None,
    )


def image_from_pb(img: pb.Image) -> ri.Image:
    return ri.Image(
        id=img.id, repo_tags=list(img.repo_tags), repo_digests=list(img.repo_digests), size=img.size,
        uid=img.uid.value if img.HasField("uid") else None, username=img.username, pinned=img.pinned,
    )


# ---------------------------------------------------------------------------- server direction
# The CRI server (cri/server.py) exposes a Python runtime (the process runtime) over
# the same gRPC API, so these are the inverses of the functions above.


def sandbox_config_from_pb(msg: pb.PodSandboxConfig) -> ri.PodSandboxConfig:
    protocols = {v: k for k, v in _PROTOCOLS.items()}
    dns = msg.dns_config if msg.HasField("dns_config") else None
    sc = msg.linux.security_context
    ns = sc.namespace_options
    return ri.PodSandboxConfig(
        metadata=_sandbox_md(msg.metadata), hostname=msg.hostname, log_directory=msg.log_directory,
        dns=ri.DNSConfig(list(dns.servers), list(dns.searches), list(dns.options)) if dns else None,
        port_mappings=[
            ri.PortMapping(p.container_port, p.host_port, protocols.get(p.protocol, "TCP"), p.host_ip) for p in msg.port_mappings
        ],
        labels=dict(msg.labels), annotations=dict(msg.annotations), cgroup_parent=msg.linux.cgroup_parent,
        host_network=ns.network == pb.NODE, privileged=msg.linux.security_context.privileged,
        sysctls=dict(msg.linux.sysctls),
        pid_mode=pb.NamespaceMode.Name(ns.pid), ipc_mode=pb.NamespaceMode.Name(ns.ipc),
        seccomp=_profile_from_pb(sc, "seccomp"), selinux=_selinux_from_pb(sc),
        run_as_user=sc.run_as_user.value if sc.HasField("run_as_user") else None,
        run_as_group=sc.run_as_group.value if sc.HasField("run_as_group") else None,
        supplemental_groups=list(sc.supplemental_groups),
    )


def container_config_from_pb(msg: pb.ContainerConfig) -> ri.ContainerConfig:
    r = msg.linux.resources
    sc = msg.linux.security_context
    return ri.ContainerConfig(
        metadata=ri.ContainerMetadata(msg.metadata.name, msg.metadata.attempt), image=msg.image.image,
        command=list(msg.command), args=list(msg.args), working_dir=msg.working_dir,
        envs={e.key: e.value for e in msg.envs},
        mounts=[ri.Mount(m.container_path, m.host_path, m.readonly) for m in msg.mounts],
        labels=dict(msg.labels), annotations=dict(msg.annotations), log_path=msg.log_path,
        stdin=msg.stdin, stdin_once=msg.stdin_once, tty=msg.tty,
        resources=ri.LinuxResources(r.cpu_period, r.cpu_quota, r.cpu_shares, r.memory_limit_in_bytes, r.oom_score_adj,
                                    r.cpuset_cpus) if msg.linux.HasField("resources") else None,
        privileged=sc.privileged,
        run_as_user=sc.run_as_user.value if sc.HasField("run_as_user") else None,
        run_as_group=sc.run_as_group.value if sc.HasField("run_as_group") else None,
        readonly_rootfs=sc.readonly_rootfs,
        no_new_privs=sc.no_new_privs,
        capabilities_add=list(sc.capabilities.add_capabilities),
        capabilities_drop=list(sc.capabilities.drop_capabilities),
        supplemental_groups=list(sc.supplemental_groups),
        pid_target_container_id=sc.namespace_options.target_id if sc.namespace_options.pid == pb.TARGET else "",
        pid_mode="CONTAINER" if sc.namespace_options.pid == pb.TARGET else pb.NamespaceMode.Name(sc.namespace_options.pid),
        ipc_mode=pb.NamespaceMode.Name(sc.namespace_options.ipc),
        seccomp=_profile_from_pb(sc, "seccomp"), apparmor=_profile_from_pb(sc, "apparmor"),
        selinux=_selinux_from_pb(sc), masked_paths=list(sc.masked_paths), readonly_paths=list(sc.readonly_paths),
    )


def sandbox_filter_from_pb(msg: pb.PodSandboxFilter | None) -> ri.PodSandboxFilter | None:
    if msg is None:
        return None
    state = _SANDBOX_STATES[msg.state.state] if msg.HasField("state") else None
    return ri.PodSandboxFilter(id=msg.id, state=state, label_selector=dict(msg.label_selector))


def container_filter_from_pb(msg: pb.ContainerFilter | None) -> ri.ContainerFilter | None:
    if msg is None:
        return None
    state = _CONTAINER_STATES[msg.state.state] if msg.HasField("state") else None
    return ri.ContainerFilter(id=msg.id, state=state, pod_sandbox_id=msg.pod_sandbox_id, label_selector=dict(msg.label_selector))


def _sandbox_md_pb(md: ri.PodSandboxMetadata) -> pb.PodSandboxMetadata:
    return pb.PodSandboxMetadata(name=md.name, uid=md.uid, namespace=md.namespace, attempt=md.attempt)


def sandbox_to_pb(s: ri.PodSandbox) -> pb.PodSandbox:
    return pb.PodSandbox(
        id=s.id, metadata=_sandbox_md_pb(s.metadata), state=_SANDBOX_STATES_TO_PB[s.state], created_at=s.created_at,
        labels=s.labels, annotations=s.annotations, runtime_handler=s.runtime_handler,
    )


def sandbox_status_to_pb(s: ri.PodSandbox) -> pb.PodSandboxStatus:
    return pb.PodSandboxStatus(
        id=s.id, metadata=_sandbox_md_pb(s.metadata), state=_SANDBOX_STATES_TO_PB[s.state], created_at=s.created_at,
        network=pb.PodSandboxNetworkStatus(ip=s.ip, additional_ips=[pb.PodIP(ip=i) for i in s.additional_ips]),
        labels=s.labels, annotations=s.annotations, runtime_handler=s.runtime_handler,
    )


def container_to_pb(c: ri.Container) -> pb.Container:
    return pb.Container(
        id=c.id, pod_sandbox_id=c.pod_sandbox_id, metadata=pb.ContainerMetadata(name=c.metadata.name, attempt=c.metadata.attempt),
        image=pb.ImageSpec(image=c.image), image_ref=c.image_ref, state=_CONTAINER_STATES_TO_PB[c.state],
        created_at=c.created_at, labels=c.labels, annotations=c.annotations,
    )


def container_status_to_pb(s: ri.ContainerStatus) -> pb.ContainerStatus:
    return pb.ContainerStatus(
        id=s.id, metadata=pb.ContainerMetadata(name=s.metadata.name, attempt=s.metadata.attempt),
        state=_CONTAINER_STATES_TO_PB[s.state], created_at=s.created_at, started_at=s.started_at,
        finished_at=s.finished_at, exit_code=s.exit_code, image=pb.ImageSpec(image=s.image), image_ref=s.image_ref,
        reason=s.reason, message=s.message, labels=s.labels, annotations=s.annotations, log_path=s.log_path,
        mounts=[pb.Mount(container_path=m.container_path, host_path=m.host_path, readonly=m.readonly) for m in s.mounts],
    )


def stats_to_pb(s: ri.ContainerStats) -> pb.ContainerStats:
    return pb.ContainerStats(
        attributes=pb.ContainerAttributes(id=s.id, metadata=pb.ContainerMetadata(name=s.name), labels=s.labels,
                                          annotations=s.annotations),
        cpu=pb.CpuUsage(timestamp=s.timestamp, usage_core_nano_seconds=pb.UInt64Value(value=s.cpu_usage_core_nanoseconds),
                        usage_nano_cores=pb.UInt64Value(value=s.cpu_usage_nano_cores)),
        memory=pb.MemoryUsage(timestamp=s.timestamp, working_set_bytes=pb.UInt64Value(value=s.memory_working_set_bytes),
                              usage_bytes=pb.UInt64Value(value=s.memory_usage_bytes)),
    )


def image_to_pb(i: ri.Image) -> pb.Image:
    msg = pb.Image(id=i.id, repo_tags=i.repo_tags, repo_digests=i.repo_digests, size=i.size, username=i.username, pinned=i.pinned)
    if i.uid is not None:
        msg.uid.value = i.uid
    return msg
