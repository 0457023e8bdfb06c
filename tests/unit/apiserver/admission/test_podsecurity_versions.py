"""Pod Security admission: the checks of each version (``<mode>-version: v1.N``), upstream's order of the
violations, warn following enforce, the configuration's defaults and exemptions, and the audit annotations."""

from pathlib import Path
from typing import Any

import pytest

from pyk8s.apiserver.admission.interface import CREATE, UPDATE, Attributes
from pyk8s.apiserver.admission.podsecurity import PodSecurity, checks, policy
from pyk8s.apiserver.admission.podsecurity.config import Config, load
from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.errors import StatusError

from .conftest import store

P = "pod-security.kubernetes.io/"


def spec(**pod: Any) -> dict[str, Any]:
    container = pod.pop("container", {})
    return {"containers": [{"name": "c", "image": "nginx", **container}], **pod}


def reasons(level: str, body: dict[str, Any], version: str | None = None, meta: dict | None = None) -> list[str]:
    return [v.reason for v in checks.evaluate(level, meta or {}, body, version)]


def test_each_version_has_its_checks() -> None:
    root = spec(container={"securityContext": {"runAsUser": 0}})
    assert "runAsUser=0" in reasons("restricted", root)
    assert "runAsUser=0" not in reasons("restricted", root, "v1.22")  # runAsUser from v1.23
    adds = spec(container={"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}})
    assert "unrestricted capabilities" in reasons("restricted", adds, "v1.22")
    assert reasons("restricted", adds, "v1.21")[:1] == ["non-default capabilities"]  # the baseline check before
    assert "allowPrivilegeEscalation != false" not in reasons("restricted", spec(), "v1.7")
    rmem = spec(securityContext={"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 131072 6291456"}]})
    assert reasons("baseline", rmem) == [] and reasons("baseline", rmem, "v1.31") == ["forbidden sysctls"]
    reserved = spec(securityContext={"sysctls": [{"name": "net.ipv4.ip_local_reserved_ports", "value": "8080"}]})
    assert reasons("baseline", reserved, "v1.27") == [] and reasons("baseline", reserved, "v1.26") != []
    engine = spec(securityContext={"seLinuxOptions": {"type": "container_engine_t"}})
    assert reasons("baseline", engine, "v1.31") == [] and reasons("baseline", engine, "v1.30") == ["seLinuxOptions"]
    assert reasons("baseline", engine, "v1.99") == []  # newer than pyk8s knows: latest


def test_windows_pods_are_exempt_from_linux_checks_from_v1_25() -> None:
    windows = spec(os={"name": "windows"}, securityContext={"runAsNonRoot": True})
    assert reasons("restricted", windows, "v1.25") == []
    assert reasons("restricted", windows, "v1.24") == ["allowPrivilegeEscalation != false",
                                                       "unrestricted capabilities", "seccompProfile"]


def test_before_v1_19_seccomp_is_read_from_the_annotations() -> None:
    meta = {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}
    found = checks.evaluate("baseline", meta, spec(), "v1.18")
    assert [str(v) for v in found] == [
        'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")']
    assert checks.evaluate("baseline", meta, spec(), "v1.19") == []


def test_baseline_violations_come_before_restricted_ones() -> None:
    body = spec(hostPID=True, container={"securityContext": {"privileged": True}})
    assert reasons("restricted", body)[:4] == ["host namespaces", "privileged", "allowPrivilegeEscalation != false",
                                               "unrestricted capabilities"]


def test_warn_follows_a_stricter_enforce_unless_set() -> None:
    modes, _ = policy({P + "enforce": "baseline", P + "enforce-version": "v1.30"})
    assert modes == {"enforce": ("baseline", "v1.30"), "audit": ("privileged", "latest"),
                     "warn": ("baseline", "v1.30")}
    modes, _ = policy({P + "enforce": "restricted", P + "warn": "baseline"})
    assert modes["warn"] == ("baseline", "latest")
    defaults = {"enforce": ("baseline", "latest"), "audit": ("restricted", "v1.29"), "warn": ("privileged", "latest")}
    modes, _ = policy({}, defaults)
    assert modes == defaults


async def namespace(registry: Registry, name: str, **labels: str) -> None:
    await store(registry, "", "namespaces").create("", {"metadata": {"name": name, "labels": {
        P + k.replace("_", "-"): v for k, v in labels.items()}}}, WriteOptions())


def attrs(ns: str, body: dict[str, Any], user: str = "alice") -> Attributes:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns}, "spec": body}
    return Attributes(CREATE, "", "pods", pod, user=user)


async def test_exemptions_and_audit_annotations(registry: Registry) -> None:
    config = Config(usernames=frozenset({"ci-bot"}), namespaces=frozenset({"tools"}),
                    runtime_classes=frozenset({"kata"}))
    plugin = PodSecurity(config)
    for name in ("locked", "tools"):
        await namespace(registry, name, enforce="restricted", audit="restricted")
    bad = spec(hostNetwork=True)
    request = attrs("locked", bad)
    with pytest.raises(StatusError) as err:
        await plugin.validate(registry, request)
    assert err.value.code == 403
    assert request.audit_annotations[P + "enforce-policy"] == "restricted:latest"
    for request, reason in ((attrs("tools", bad), "namespace"), (attrs("locked", bad, user="ci-bot"), "user"),
                            (attrs("locked", {**bad, "runtimeClassName": "kata"}), "runtimeClass")):
        await plugin.validate(registry, request)  # exempt: admitted unchecked
        assert request.audit_annotations == {P + "exempt": reason}
    # Labelling an exempt namespace warns that its policy is ignored.
    labelled = Attributes(CREATE, "", "namespaces", {"metadata": {"name": "tools", "labels": {P + "enforce": "baseline"}}})
    await plugin.validate(registry, labelled)
    assert labelled.warnings == ['namespace "tools" is exempt from Pod Security, and the policy '
                                 '(enforce=baseline:latest,warn=baseline:latest) will be ignored']


async def test_configured_defaults_apply_to_unlabelled_namespaces(registry: Registry) -> None:
    defaults = {"enforce": ("baseline", "latest"), "audit": ("restricted", "latest"), "warn": ("privileged", "latest")}
    plugin = PodSecurity(Config(defaults=defaults))
    await namespace(registry, "plain")
    with pytest.raises(StatusError) as err:
        await plugin.validate(registry, attrs("plain", spec(hostIPC=True)))
    assert err.value.message == ('pods "p" is forbidden: violates PodSecurity "baseline:latest": '
                                 'host namespaces (hostIPC=true)')
    ok = attrs("plain", spec())
    await plugin.validate(registry, ok)
    assert ok.audit_annotations[P + "enforce-policy"] == "baseline:latest"
    assert ok.audit_annotations[P + "audit-violations"].startswith('would violate PodSecurity "restricted:latest": ')


def test_the_admission_configuration_file(tmp_path: Path) -> None:
    inline = tmp_path / "admission.yaml"
    inline.write_text("""
apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: baseline, enforce-version: v1.30, audit: restricted}
    exemptions: {usernames: [ci-bot], namespaces: [kube-system], runtimeClasses: [kata]}
""")
    config = load(str(inline))
    assert config.defaults == {"enforce": ("baseline", "v1.30"), "audit": ("restricted", "latest"),
                               "warn": ("privileged", "latest")}
    assert (config.usernames, config.namespaces, config.runtime_classes) == (
        frozenset({"ci-bot"}), frozenset({"kube-system"}), frozenset({"kata"}))
    (tmp_path / "psa.yaml").write_text("apiVersion: pod-security.admission.config.k8s.io/v1\n"
                                       "kind: PodSecurityConfiguration\nexemptions: {namespaces: [x]}\n")
    by_path = tmp_path / "by-path.yaml"
    by_path.write_text("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\n"
                       "plugins: [{name: PodSecurity, path: psa.yaml}]\n")
    assert load(str(by_path)).namespaces == frozenset({"x"})
    bad = tmp_path / "bad.yaml"
    bad.write_text(inline.read_text().replace("enforce: baseline", "enforce: strict"))
    with pytest.raises(ValueError, match='defaults.enforce: Invalid value: "strict"'):
        load(str(bad))


async def test_significant_pod_updates_are_judged_again(registry: Registry) -> None:
    plugin = PodSecurity()
    await namespace(registry, "tightened", enforce="baseline")
    old = attrs("tightened", spec(hostNetwork=True)).obj  # made before the namespace was labelled
    relabelled = {**old, "metadata": {**old["metadata"], "labels": {"a": "b"}}}
    assert not plugin.handles(Attributes(UPDATE, "", "pods", relabelled, old))  # not significant: left alone
    new_image = {**old, "spec": {**old["spec"], "containers": [{"name": "c", "image": "nginx:2"}]}}
    update = Attributes(UPDATE, "", "pods", new_image, old)
    assert plugin.handles(update)
    with pytest.raises(StatusError) as err:
        await plugin.validate(registry, update)
    assert err.value.message == ('pods "p" is forbidden: violates PodSecurity "baseline:latest": '
                                 'host namespaces (hostNetwork=true)')
