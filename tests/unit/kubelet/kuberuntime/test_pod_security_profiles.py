"""What the kubelet passes over CRI for hostPID / hostIPC / shareProcessNamespace, seccomp, AppArmor, SELinux
and procMount (upstream's determineEffectiveSecurityContext and generatePodSandboxLinuxConfig)."""

from __future__ import annotations

import pytest

from pyk8s.kubelet.kuberuntime import profiles, sandbox, security
from pyk8s.kubelet.kuberuntime.settings import RuntimeSettings
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri import convert

from .conftest import ctr, make_pod

ROOT = "/var/lib/kubelet/seccomp"


def test_namespace_modes() -> None:
    assert security.effective(make_pod(), ctr("a")).pid_mode == "CONTAINER"
    assert security.effective(make_pod(shareProcessNamespace=True), ctr("a")).pid_mode == "POD"
    host = security.effective(make_pod(hostPID=True, hostIPC=True, shareProcessNamespace=True), ctr("a"))
    assert (host.pid_mode, host.ipc_mode) == ("NODE", "NODE")
    assert security.effective(make_pod(), ctr("a")).ipc_mode == "POD"


def test_seccomp_container_then_pod_then_unconfined() -> None:
    pod = make_pod(securityContext={"seccompProfile": {"type": "Localhost", "localhostProfile": "p/deny.json"}})
    assert security.effective(pod, ctr("a"), ROOT).seccomp == ri.SecurityProfile("Localhost", f"{ROOT}/p/deny.json")
    own = ctr("a", securityContext={"seccompProfile": {"type": "RuntimeDefault"}})
    assert security.effective(pod, own, ROOT).seccomp == ri.SecurityProfile("RuntimeDefault")
    assert security.effective(make_pod(), ctr("a"), ROOT).seccomp == ri.SecurityProfile("Unconfined")
    # The annotations have had no effect since v1.27.
    old = make_pod()
    old["metadata"]["annotations"] = {"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}
    assert security.effective(old, ctr("a"), ROOT).seccomp == ri.SecurityProfile("Unconfined")
    with pytest.raises(profiles.ProfileError, match="localhostProfile must be set"):
        security.effective(make_pod(securityContext={"seccompProfile": {"type": "Localhost"}}), ctr("a"), ROOT)


def test_apparmor_field_annotation_pod() -> None:
    pod = make_pod(securityContext={"appArmorProfile": {"type": "RuntimeDefault"}})
    assert profiles.apparmor(pod, ctr("a")) == ri.SecurityProfile("RuntimeDefault")
    pod["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/a": "localhost/k8s-x"}
    assert profiles.apparmor(pod, ctr("a")) == ri.SecurityProfile("Localhost", "k8s-x")
    own = ctr("a", securityContext={"appArmorProfile": {"type": "Unconfined"}})
    assert profiles.apparmor(pod, own) == ri.SecurityProfile("Unconfined")
    assert profiles.apparmor(make_pod(), ctr("a")) is None


def test_selinux_and_proc_mount() -> None:
    pod = make_pod(securityContext={"seLinuxOptions": {"level": "s0:c1,c2"}})
    assert security.effective(pod, ctr("a")).selinux == ri.SELinuxOption(level="s0:c1,c2")
    own = ctr("a", securityContext={"seLinuxOptions": {"type": "spc_t"}})
    assert security.effective(pod, own).selinux == ri.SELinuxOption(type="spc_t")
    default = security.effective(make_pod(), ctr("a"))
    assert "/proc/kcore" in default.masked_paths and "/proc/sys" in default.readonly_paths
    unmasked = security.effective(make_pod(), ctr("a", securityContext={"procMount": "Unmasked"}))
    assert unmasked.masked_paths == [] and unmasked.readonly_paths == []


def test_sandbox_security_context(settings: RuntimeSettings) -> None:
    pod = make_pod(hostPID=True, securityContext={"seccompProfile": {"type": "RuntimeDefault"}, "runAsUser": 1000,
                                                  "fsGroup": 2000, "seLinuxOptions": {"user": "u"}})
    cfg = sandbox.sandbox_config(pod, settings, 0).config
    assert (cfg.pid_mode, cfg.ipc_mode, cfg.run_as_user, cfg.supplemental_groups) == ("NODE", "POD", 1000, [2000])
    assert cfg.seccomp == ri.SecurityProfile("RuntimeDefault") and cfg.selinux == ri.SELinuxOption(user="u")
    # The sandbox's own process is always RuntimeDefault, whatever the pod asks for its containers.
    local = make_pod(securityContext={"seccompProfile": {"type": "Localhost", "localhostProfile": "x.json"}})
    assert sandbox.sandbox_config(local, settings, 0).config.seccomp == ri.SecurityProfile("RuntimeDefault")


def test_cri_round_trip_of_the_new_fields() -> None:
    cfg = ri.ContainerConfig(metadata=ri.ContainerMetadata(name="a"), image="busybox", pid_mode="NODE",
                             ipc_mode="NODE", seccomp=ri.SecurityProfile("Localhost", "/r/x.json"),
                             apparmor=ri.SecurityProfile("RuntimeDefault"), selinux=ri.SELinuxOption(level="s0"),
                             masked_paths=["/proc/kcore"], readonly_paths=["/proc/sys"])
    msg = convert.container_config_to_pb(cfg)
    sc = msg.linux.security_context
    assert sc.seccomp.localhost_ref == "/r/x.json" and sc.HasField("apparmor")
    back = convert.container_config_from_pb(msg)
    assert (back.pid_mode, back.ipc_mode, back.seccomp, back.apparmor, back.selinux, back.masked_paths,
            back.readonly_paths) == ("NODE", "NODE", cfg.seccomp, cfg.apparmor, cfg.selinux, ["/proc/kcore"],
                                     ["/proc/sys"])
    box = ri.PodSandboxConfig(metadata=ri.PodSandboxMetadata(name="p"), pid_mode="POD", ipc_mode="NODE",
                              seccomp=ri.SecurityProfile("Unconfined"), run_as_user=7)
    again = convert.sandbox_config_from_pb(convert.sandbox_config_to_pb(box))
    assert (again.pid_mode, again.ipc_mode, again.seccomp, again.run_as_user) == ("POD", "NODE", box.seccomp, 7)
