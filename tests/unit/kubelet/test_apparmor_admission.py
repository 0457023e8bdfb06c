"""AppArmor admission: a pod asking for confinement is refused on a host without AppArmor, as upstream."""

from __future__ import annotations

import pathlib

from pyk8s.kubelet import apparmor

NOT_ENABLED = "AppArmor is not enabled on the host"


def _pod(**spec: object) -> dict:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}], **spec}, "status": {"phase": "Pending"}}


def test_confined_pod_refused_without_apparmor() -> None:
    pod = _pod(securityContext={"appArmorProfile": {"type": "RuntimeDefault"}})
    rejection = apparmor.admit(pod, host=lambda: NOT_ENABLED)
    assert rejection is not None and rejection.reason == "AppArmor"
    assert rejection.message == "Cannot enforce AppArmor: AppArmor is not enabled on the host"
    assert apparmor.admit(pod, host=lambda: None) is None


def test_unconfined_and_unset_are_admitted_anywhere() -> None:
    assert apparmor.admit(_pod(), host=lambda: NOT_ENABLED) is None
    assert apparmor.admit(_pod(securityContext={"appArmorProfile": {"type": "Unconfined"}}),
                          host=lambda: NOT_ENABLED) is None
    annotated = _pod()
    annotated["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/a": "unconfined"}
    assert apparmor.admit(annotated, host=lambda: NOT_ENABLED) is None
    annotated["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/a"] = "localhost/x"
    assert apparmor.admit(annotated, host=lambda: NOT_ENABLED) is not None


def test_a_running_pod_is_not_rechecked() -> None:
    pod = _pod(containers=[{"name": "a", "securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}])
    pod["status"] = {"phase": "Running"}
    assert apparmor.admit(pod, host=lambda: NOT_ENABLED) is None


def test_host_detection(tmp_path: pathlib.Path) -> None:
    securityfs, enabled = tmp_path / "apparmor", tmp_path / "enabled"
    assert apparmor.host_error(securityfs, enabled) == NOT_ENABLED
    securityfs.mkdir()
    enabled.write_text("N\n")
    assert apparmor.host_error(securityfs, enabled) == NOT_ENABLED
    enabled.write_text("Y\n")
    assert apparmor.host_error(securityfs, enabled) is None
