"""Dataclass <-> CRI protobuf translation, and the wire format of the hand-written proto subset."""

from __future__ import annotations

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri import convert
from pyk8s.kubelet.runtime.cri.client import classify_pull_error
from pyk8s.kubelet.runtime.cri.generated import api_pb2 as pb


def test_field_numbers_match_cri_v1() -> None:
    # Spot checks against k8s.io/cri-api runtime/v1 (a wrong number silently breaks the wire format).
    fields = pb.ContainerConfig.DESCRIPTOR.fields_by_name
    assert (fields["log_path"].number, fields["tty"].number, fields["linux"].number) == (11, 14, 15)
    assert pb.ContainerStatus.DESCRIPTOR.fields_by_name["log_path"].number == 15
    assert pb.ContainerStatus.DESCRIPTOR.fields_by_name["reason"].number == 10
    assert pb.LinuxSandboxSecurityContext.DESCRIPTOR.fields_by_name["run_as_group"].number == 8
    assert pb.LinuxContainerSecurityContext.DESCRIPTOR.fields_by_name["run_as_group"].number == 12
    assert pb.PodSandboxStatus.DESCRIPTOR.fields_by_name["annotations"].number == 8
    assert pb.MemoryUsage.DESCRIPTOR.fields_by_name["working_set_bytes"].number == 2
    assert pb.DESCRIPTOR.package == "runtime.v1"
    assert pb.DESCRIPTOR.services_by_name["RuntimeService"].methods_by_name["ExecSync"].input_type.name == "ExecSyncRequest"


def test_sandbox_config_round_trip_fields() -> None:
    cfg = ri.PodSandboxConfig(
        metadata=ri.PodSandboxMetadata(name="web", namespace="prod", uid="u-1", attempt=2),
        hostname="web", log_directory="/var/log/pods/prod_web_u-1", labels={"app": "web"},
        port_mappings=[ri.PortMapping(container_port=80, host_port=8080, protocol="udp")],
        dns=ri.DNSConfig(servers=["10.96.0.10"], searches=["svc.cluster.local"]),
    )
    msg = pb.PodSandboxConfig.FromString(convert.sandbox_config_to_pb(cfg).SerializeToString())
    assert (msg.metadata.name, msg.metadata.namespace, msg.metadata.uid, msg.metadata.attempt) == ("web", "prod", "u-1", 2)
    assert msg.port_mappings[0].protocol == pb.UDP and msg.port_mappings[0].host_port == 8080
    assert list(msg.dns_config.servers) == ["10.96.0.10"] and dict(msg.labels) == {"app": "web"}
    assert msg.linux.security_context.namespace_options.network == pb.POD
    host = convert.sandbox_config_to_pb(ri.PodSandboxConfig(metadata=cfg.metadata, host_network=True))
    assert host.linux.security_context.namespace_options.network == pb.NODE


def test_container_config_resources_and_user() -> None:
    cfg = ri.ContainerConfig(
        metadata=ri.ContainerMetadata(name="c", attempt=1), image="busybox", command=["sh"], args=["-c", "true"],
        envs={"A": "1"}, resources=ri.LinuxResources(cpu_quota=50000, cpu_period=100000, memory_limit_in_bytes=1 << 20),
        run_as_user=1000, mounts=[ri.Mount("/data", "/host/data", readonly=True)],
    )
    msg = convert.container_config_to_pb(cfg)
    assert msg.linux.resources.cpu_quota == 50000 and msg.linux.resources.memory_limit_in_bytes == 1 << 20
    assert msg.linux.security_context.run_as_user.value == 1000
    assert not msg.linux.security_context.HasField("run_as_group")
    assert [(e.key, e.value) for e in msg.envs] == [("A", "1")]
    assert msg.mounts[0].readonly and msg.mounts[0].host_path == "/host/data"


def test_status_from_pb_reads_restart_count_and_pid() -> None:
    st = pb.ContainerStatus(
        id="abc", metadata=pb.ContainerMetadata(name="c"), state=pb.CONTAINER_EXITED, exit_code=137,
        reason="OOMKilled", annotations={ri.RESTART_COUNT_ANNOTATION: "4"},
    )
    status = convert.container_status_from_pb(st, {"info": '{"pid": 42}'})
    assert status.state == ri.ContainerState.EXITED and status.reason == "OOMKilled"
    assert status.restart_count == 4 and status.pid == 42


def test_pull_errors_are_distinguished() -> None:
    missing = 'failed to resolve reference "docker.io/library/nope:1": docker.io/library/nope:1: not found'
    down = 'failed to do request: Head "http://127.0.0.1:5000/v2/library/x/manifests/1": dial tcp 127.0.0.1:5000: connect: connection refused'
    auth = "failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized"
    assert isinstance(classify_pull_error("nope:1", missing), ri.ImageNotFoundError)
    assert isinstance(classify_pull_error("x:1", down), ri.RegistryUnavailableError)
    assert isinstance(classify_pull_error("x:1", auth), ri.RegistryAuthError)
