"""The security fields kuberuntime added to ContainerConfig reach CRI protobuf and come back."""

from __future__ import annotations

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri import convert


def test_capabilities_no_new_privs_and_groups_round_trip() -> None:
    cfg = ri.ContainerConfig(metadata=ri.ContainerMetadata(name="app"), image="busybox", run_as_user=1000,
                             no_new_privs=True, capabilities_add=["NET_ADMIN"], capabilities_drop=["ALL"],
                             supplemental_groups=[2000, 4000])
    msg = convert.container_config_to_pb(cfg)
    sc = msg.linux.security_context
    assert sc.no_new_privs and list(sc.capabilities.add_capabilities) == ["NET_ADMIN"]
    assert list(sc.capabilities.drop_capabilities) == ["ALL"] and list(sc.supplemental_groups) == [2000, 4000]
    back = convert.container_config_from_pb(msg)
    assert (back.no_new_privs, back.capabilities_add, back.capabilities_drop, back.supplemental_groups) == \
        (True, ["NET_ADMIN"], ["ALL"], [2000, 4000])


def test_pid_target_namespace_round_trip() -> None:
    cfg = ri.ContainerConfig(metadata=ri.ContainerMetadata(name="debugger"), image="busybox",
                             pid_target_container_id="abc")
    msg = convert.container_config_to_pb(cfg)
    assert msg.linux.security_context.namespace_options.target_id == "abc"
    assert convert.container_config_from_pb(msg).pid_target_container_id == "abc"
    assert convert.container_config_from_pb(convert.container_config_to_pb(
        ri.ContainerConfig(metadata=ri.ContainerMetadata(name="x"), image="busybox"))).pid_target_container_id == ""
