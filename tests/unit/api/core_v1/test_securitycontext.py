"""seccompProfile, appArmorProfile and procMount validation, the seccomp and AppArmor annotations, and the
AppArmor annotation/field sync on create, as upstream's pod validation and strategy do them."""

from __future__ import annotations

import copy
from typing import Any

from .conftest import create, msgs, strategy


def _with(pod: dict[str, Any], pod_sc: dict[str, Any] | None = None, ctr_sc: dict[str, Any] | None = None,
          annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    out = copy.deepcopy(pod)
    if pod_sc is not None:
        out["spec"]["securityContext"] = pod_sc
    if ctr_sc is not None:
        out["spec"]["containers"][0]["securityContext"] = ctr_sc
    if annotations is not None:
        out["metadata"]["annotations"] = annotations
    out["spec"].update(spec)
    return out


def _errors(obj: dict[str, Any]) -> list[str]:
    return msgs(strategy("pods").validate(create("pods", obj)))


def test_valid_profiles_pass(pod) -> None:
    obj = _with(pod, {"seccompProfile": {"type": "RuntimeDefault"}, "appArmorProfile": {"type": "RuntimeDefault"}},
                {"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/audit.json"},
                 "appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-deny-write"},
                 "procMount": "Default"})
    assert _errors(obj) == []


def test_seccomp_profile_rules(pod) -> None:
    assert _errors(_with(pod, {"seccompProfile": {"type": "Localhost"}})) == [
        "spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type "
        "is Localhost"]
    assert _errors(_with(pod, ctr_sc={"seccompProfile": {"type": "Bogus"}})) == [
        'spec.containers[0].securityContext.seccompProfile.type: Unsupported value: "Bogus": supported values: '
        '"Localhost", "RuntimeDefault", "Unconfined"']
    assert _errors(_with(pod, ctr_sc={"seccompProfile": {}})) == [
        "spec.containers[0].securityContext.seccompProfile.type: Required value: type is required when "
        "seccompProfile is set"]
    assert _errors(_with(pod, ctr_sc={"seccompProfile": {"type": "Localhost", "localhostProfile": "/etc/x.json"}})) == [
        'spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "/etc/x.json": must '
        "be a relative path"]
    assert _errors(_with(pod, ctr_sc={"seccompProfile": {"type": "Localhost", "localhostProfile": "a/../../x"}})) == [
        'spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "a/../../x": must '
        "not contain '..'"]
    errs = _errors(_with(pod, ctr_sc={"seccompProfile": {"type": "RuntimeDefault", "localhostProfile": "x"}}))
    assert len(errs) == 1 and errs[0].endswith("can only be set when seccomp type is Localhost")


def test_apparmor_profile_rules(pod) -> None:
    assert _errors(_with(pod, {"appArmorProfile": {"type": "Localhost"}})) == [
        "spec.securityContext.appArmorProfile.localhostProfile: Required value: must be set when AppArmor type "
        "is Localhost"]
    assert _errors(_with(pod, ctr_sc={"appArmorProfile": {"type": "Localhost", "localhostProfile": " p"}})) == [
        'spec.containers[0].securityContext.appArmorProfile.localhostProfile: Invalid value: " p": must not be '
        "padded with whitespace"]
    assert _errors(_with(pod, ctr_sc={"appArmorProfile": {"type": "Enforce"}})) == [
        'spec.containers[0].securityContext.appArmorProfile.type: Unsupported value: "Enforce": supported '
        'values: "Localhost", "RuntimeDefault", "Unconfined"']
    assert _errors(_with(pod, ctr_sc={"appArmorProfile": {"type": "Unconfined", "localhostProfile": "p"}})) == [
        'spec.containers[0].securityContext.appArmorProfile.localhostProfile: Invalid value: "p": can only be set '
        "when AppArmor type is Localhost"]


def test_proc_mount(pod) -> None:
    assert _errors(_with(pod, ctr_sc={"procMount": "Masked"})) == [
        'spec.containers[0].securityContext.procMount: Unsupported value: "Masked": supported values: "Default", '
        '"Unmasked"']
    assert _errors(_with(pod, ctr_sc={"procMount": "Unmasked"})) == [
        'spec.containers[0].securityContext.procMount: Invalid value: "Unmasked": `hostUsers` must be false to '
        "use `Unmasked`"]
    # The pod's own user namespace (hostUsers: false) is dropped on create, as upstream 1.32 with the
    # UserNamespacesSupport gate off: Unmasked is refused either way.
    assert _errors(_with(pod, ctr_sc={"procMount": "Unmasked"}, hostUsers=False)) == [
        'spec.containers[0].securityContext.procMount: Invalid value: "Unmasked": `hostUsers` must be false to '
        "use `Unmasked`"]


def test_deprecated_annotations_are_validated(pod) -> None:
    errs = _errors(_with(pod, annotations={
        "seccomp.security.alpha.kubernetes.io/pod": "chrome",
        "container.seccomp.security.alpha.kubernetes.io/nginx": "localhost/../x",
        "container.apparmor.security.beta.kubernetes.io/ghost": "runtime/default",
        "container.apparmor.security.beta.kubernetes.io/nginx": "enforce"}))
    assert errs == [
        'metadata.annotations[container.apparmor.security.beta.kubernetes.io/ghost]: Invalid value: "ghost": '
        "container not found",
        'metadata.annotations[container.apparmor.security.beta.kubernetes.io/nginx]: Invalid value: "enforce": '
        'invalid AppArmor profile name: "enforce"',
        'metadata.annotations[container.seccomp.security.alpha.kubernetes.io/nginx]: Invalid value: '
        "\"../x\": must not contain '..'",
        'metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: Invalid value: "chrome": must be a '
        "valid seccomp profile"]


def test_apparmor_annotation_becomes_the_field_on_create_and_back(pod) -> None:
    key = "container.apparmor.security.beta.kubernetes.io/nginx"
    made = create("pods", _with(pod, annotations={key: "localhost/k8s-deny-write"}))
    assert made["spec"]["containers"][0]["securityContext"]["appArmorProfile"] == {
        "type": "Localhost", "localhostProfile": "k8s-deny-write"}
    assert strategy("pods").validate(made) == []
    # A field (here the pod's) and no annotation: the annotation is written for older readers.
    made = create("pods", _with(pod, {"appArmorProfile": {"type": "RuntimeDefault"}}))
    assert made["metadata"]["annotations"][key] == "runtime/default"
    assert "appArmorProfile" not in (made["spec"]["containers"][0].get("securityContext") or {})


def test_apparmor_annotation_and_field_must_match(pod) -> None:
    key = "container.apparmor.security.beta.kubernetes.io/nginx"
    errs = _errors(_with(pod, ctr_sc={"appArmorProfile": {"type": "RuntimeDefault"}}, annotations={key: "unconfined"}))
    assert errs == [f"metadata.annotations[{key}]: Forbidden: apparmor type in annotation and field must match"]


def test_seccomp_annotations_warn_on_create_only(pod) -> None:
    made = create("pods", _with(pod, annotations={
        "seccomp.security.alpha.kubernetes.io/pod": "runtime/default",
        "container.seccomp.security.alpha.kubernetes.io/nginx": "runtime/default"}))
    assert strategy("pods").warnings(made) == [
        'metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]: non-functional in v1.27+; use the '
        '"seccompProfile" field instead',
        'metadata.annotations[container.seccomp.security.alpha.kubernetes.io/nginx]: non-functional in v1.27+; '
        'use the "seccompProfile" field instead']
    made["metadata"]["resourceVersion"] = "5"
    assert strategy("pods").warnings(made) == []
    assert strategy("pods").warnings(create("pods", pod)) == []


def test_seccomp_annotation_and_field_must_match(pod) -> None:
    errs = _errors(_with(pod, {"seccompProfile": {"type": "RuntimeDefault"}},
                         {"seccompProfile": {"type": "Localhost", "localhostProfile": "a.json"}},
                         annotations={"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                                      "container.seccomp.security.alpha.kubernetes.io/nginx": "localhost/b.json"}))
    assert errs == [
        "spec.securityContext.seccompProfile.type: Forbidden: seccomp type in annotation and field must match",
        "spec.containers[0].securityContext.seccompProfile.localhostProfile: Forbidden: seccomp profile in "
        "annotation and field must match"]
    assert _errors(_with(pod, {"seccompProfile": {"type": "RuntimeDefault"}},
                         annotations={"seccomp.security.alpha.kubernetes.io/pod": "docker/default"})) == []


def test_template_annotations_and_profiles_are_validated(pod) -> None:
    from pyk8s.api.core_v1.pod import validate_pod_template_spec

    template = {"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/nginx": "bad"}},
                "spec": create("pods", _with(pod, ctr_sc={"seccompProfile": {"type": "Localhost"}}))["spec"]}
    assert msgs(validate_pod_template_spec(template, "spec.template")) == [
        "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/nginx]: Invalid value: "
        '"bad": invalid AppArmor profile name: "bad"',
        "spec.template.spec.containers[0].securityContext.seccompProfile.localhostProfile: Required value: must be "
        "set when seccomp type is Localhost"]


def test_ids_and_share_process_namespace_with_host_pid(pod) -> None:
    errs = _errors(_with(pod, {"runAsUser": -1, "supplementalGroups": [5, 2**31]}, {"runAsGroup": -3},
                         hostPID=True, shareProcessNamespace=True))
    assert errs == [
        "spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive",
        "spec.securityContext.supplementalGroups[1]: Invalid value: 2147483648: must be between 0 and 2147483647, "
        "inclusive",
        "spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot "
        "both be enabled",
        "spec.containers[0].securityContext.runAsGroup: Invalid value: -3: must be between 0 and 2147483647, "
        "inclusive"]
