"""The kubelet's sysctl admission: safe names pass, others are SysctlForbidden with upstream's wording."""

from __future__ import annotations

from typing import Any

import pytest

from pyk8s.cli.main import main
from pyk8s.kubelet import sysctl


def _pod(*names: str, **spec: Any) -> dict[str, Any]:
    sysctls = [{"name": n, "value": "1"} for n in names]
    return {"spec": {"securityContext": {"sysctls": sysctls}, "containers": [{"name": "a"}], **spec}}


def test_safe_sysctls_are_admitted() -> None:
    assert sysctl.admit(_pod("net.ipv4.ip_local_port_range", "kernel.shm_rmid_forced", "net.ipv4.tcp_rmem")) is None
    assert sysctl.admit({"spec": {"containers": []}}) is None


def test_unsafe_sysctl_is_rejected() -> None:
    rejection = sysctl.admit(_pod("net.ipv4.ip_local_port_range", "kernel.msgmax"))
    assert rejection == sysctl.Rejection("SysctlForbidden", 'forbidden sysctl: "kernel.msgmax" not allowlisted')
    status = sysctl.rejected_status(_pod("kernel.msgmax"), rejection)
    assert status == {"phase": "Failed", "reason": "SysctlForbidden", "qosClass": "BestEffort",
                      "message": 'Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted'}


def test_allowed_unsafe_patterns_and_host_namespaces() -> None:
    assert sysctl.admit(_pod("kernel.msgmax"), unsafe=["kernel.msg*"]) is None
    assert sysctl.admit(_pod("net.core.somaxconn"), unsafe=["net.core.somaxconn"]) is None
    host_net = sysctl.admit(_pod("net.ipv4.tcp_syncookies", hostNetwork=True))
    assert host_net is not None
    assert host_net.message == 'forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled'
    host_ipc = sysctl.admit(_pod("kernel.shm_rmid_forced", hostIPC=True))
    assert host_ipc is not None and host_ipc.message.endswith("not allowed with host ipc enabled")


def test_slash_separated_names_are_compared_dotted() -> None:
    assert sysctl.normalize("net/ipv4/ip_local_port_range") == "net.ipv4.ip_local_port_range"
    assert sysctl.normalize("net/ipv4/conf/eno2.100/rp_filter") == "net.ipv4.conf.eno2/100.rp_filter"
    assert sysctl.normalize("net.ipv4.conf.eno2/100.rp_filter") == "net.ipv4.conf.eno2/100.rp_filter"
    assert sysctl.admit(_pod("net/ipv4/ip_local_port_range")) is None


def test_allowed_unsafe_sysctls_flag_accepts_only_namespaced_ones() -> None:
    assert sysctl.validate_patterns(["kernel.msg*", " net.core.somaxconn", "", "kernel.sem", "fs.mqueue.*"]) == [
        "kernel.msg*", "net.core.somaxconn", "kernel.sem", "fs.mqueue.*"]
    for bad, prefix in (("kernel.*", "kernel."), ("vm.swappiness", "vm.swappiness"), ("*", "")):
        with pytest.raises(ValueError) as err:
            sysctl.validate_patterns([bad])
        assert str(err.value) == f'the sysctl "{prefix}" are not known to be namespaced'


def test_kubelet_refuses_a_non_namespaced_unsafe_sysctl_at_start(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["kubelet", "--kubeconfig", "/nonexistent", "--allowed-unsafe-sysctls", "net.core.somaxconn,vm.swappiness"])
    assert rc == 2
    assert capsys.readouterr().err.strip().endswith('error: the sysctl "vm.swappiness" are not known to be namespaced')
