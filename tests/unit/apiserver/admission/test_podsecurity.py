"""Pod Security admission: namespace labels, enforce (403 with upstream's message), warn (Warning
texts), audit (annotation), the checks of baseline and restricted, label validation, and the warning
on tightening a namespace with violating pods."""

from typing import Any

from pyk8s.apiserver.admission.podsecurity import checks
from pyk8s.apiserver.registry import Registry
from pyk8s.apiserver.registry.rest import WriteOptions

from .conftest import pod, refused, store


async def namespace(registry: Registry, name: str, **labels: str) -> None:
    """The namespace and its ``default`` ServiceAccount (the service-account controller's part)."""
    await store(registry, "", "namespaces").create("", {"metadata": {"name": name, "labels": {
        f"pod-security.kubernetes.io/{k.replace('_', '-')}": v for k, v in labels.items()}}}, WriteOptions())
    await store(registry, "", "serviceaccounts").create(name, {"metadata": {"name": "default"}}, WriteOptions())


def compliant(name: str) -> dict[str, Any]:
    sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
          "seccompProfile": {"type": "RuntimeDefault"}}
    return pod(name, namespace="secure", containers=[{"name": "c", "image": "nginx", "securityContext": sc}])


async def test_enforce_restricted_refuses_with_upstreams_message(registry: Registry) -> None:
    await namespace(registry, "secure", enforce="restricted")
    pods = store(registry, "", "pods")
    err = await refused(pods.create("secure", pod("x", namespace="secure"), WriteOptions()))
    assert err.code == 403 and err.reason == "Forbidden"
    assert err.message == (
        'pods "x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
        '(container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities '
        '(container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or '
        'container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must '
        'set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')
    await pods.create("secure", compliant("ok"), WriteOptions())


async def test_warn_and_audit_do_not_refuse(registry: Registry) -> None:
    await namespace(registry, "lax", warn="baseline", warn_version="v1.32", audit="baseline")
    opts = WriteOptions()
    body = pod("h", namespace="lax", hostNetwork=True)
    await store(registry, "", "pods").create("lax", body, opts)
    assert 'would violate PodSecurity "baseline:v1.32": host namespaces (hostNetwork=true)' in opts.warnings


async def test_workloads_get_warnings_not_refusals(registry: Registry) -> None:
    await namespace(registry, "wl", enforce="baseline", warn="baseline")
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
              "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                  "metadata": {"labels": {"a": "b"}},
                  "spec": {"containers": [{"name": "c", "image": "nginx",
                                           "securityContext": {"privileged": True}}]}}}}
    opts = WriteOptions()
    await store(registry, "apps", "deployments").create("wl", deploy, opts)
    assert opts.warnings == ['would violate PodSecurity "baseline:latest": privileged (container "c" must not '
                             'set securityContext.privileged=true)']


async def test_invalid_labels_are_refused(registry: Registry) -> None:
    err = await refused(namespace(registry, "bad", enforce="strict"))
    assert err.code == 422
    assert err.message == ('namespaces "bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: '
                           'Invalid value: "strict": must be one of privileged, baseline, restricted')


async def test_tightening_warns_about_existing_pods(registry: Registry) -> None:
    await namespace(registry, "old")
    await store(registry, "", "pods").create("old", pod("priv", namespace="old", hostPID=True), WriteOptions())
    namespaces = store(registry, "", "namespaces")
    ns = await namespaces.get("", "old")
    ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] = "baseline"
    opts = WriteOptions()
    await namespaces.update("", "old", ns, opts)
    assert opts.warnings == ['existing pods in namespace "old" violate the new PodSecurity enforce level '
                             '"baseline:latest"', "priv: host namespaces"]


def test_baseline_checks() -> None:
    spec = {"hostIPC": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            "securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}],
                                "seLinuxOptions": {"type": "spc_t"}},
            "containers": [{"name": "a", "ports": [{"containerPort": 80, "hostPort": 8080}],
                            "securityContext": {"capabilities": {"add": ["NET_ADMIN", "CHOWN"]},
                                                "procMount": "Unmasked",
                                                "seccompProfile": {"type": "Unconfined"}}}]}
    meta = {"annotations": {"container.apparmor.security.beta.kubernetes.io/a": "unconfined"}}
    got = [str(v) for v in checks.evaluate("baseline", meta, spec)]
    assert got == [
        'forbidden AppArmor profile ("container.apparmor.security.beta.kubernetes.io/a=unconfined")',
        'non-default capabilities (container "a" must not include "NET_ADMIN" in securityContext.capabilities.add)',
        "host namespaces (hostIPC=true)",
        'hostPath volumes (volume "h")',
        'hostPort (container "a" uses hostPort 8080)',
        'procMount (container "a" must not set securityContext.procMount to "Unmasked")',
        'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t")',
        'seccompProfile (container "a" must not set securityContext.seccompProfile.type to "Unconfined")',
        "forbidden sysctls (kernel.msgmax)",
    ]
    assert checks.evaluate("privileged", meta, spec) == []


def test_restricted_checks() -> None:
    spec = {"securityContext": {"runAsNonRoot": True, "runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [{"name": "n", "nfs": {"server": "x", "path": "/"}}, {"name": "e", "emptyDir": {}}],
            "containers": [{"name": "a", "securityContext": {"allowPrivilegeEscalation": False,
                                                             "capabilities": {"drop": ["ALL"],
                                                                              "add": ["SYS_TIME"]}}}]}
    got = [str(v) for v in checks.evaluate("restricted", {}, spec)]
    assert got == [
        'unrestricted capabilities (container "a" must not include "SYS_TIME" in securityContext.capabilities.add)',
        'restricted volume types (volume "n" uses restricted volume type "nfs")',
        "runAsUser=0 (pod must not set runAsUser=0)",
    ]


async def test_ephemeral_containers_are_checked(registry: Registry) -> None:
    await namespace(registry, "dbg", enforce="baseline")
    pods = store(registry, "", "pods")
    created = await pods.create("dbg", pod("app", namespace="dbg"), WriteOptions())
    created["spec"]["ephemeralContainers"] = [{"name": "debugger", "image": "busybox",
                                               "securityContext": {"privileged": True}}]
    err = await refused(pods.update("dbg", "app", created, WriteOptions(), subresource="ephemeralcontainers"))
    assert err.message == ('pods "app" is forbidden: violates PodSecurity "baseline:latest": privileged '
                           '(container "debugger" must not set securityContext.privileged=true)')
    created["spec"]["ephemeralContainers"][0]["securityContext"] = {}
    updated, _ = await pods.update("dbg", "app", created, WriteOptions(), subresource="ephemeralcontainers")
    assert updated["spec"]["ephemeralContainers"][0]["name"] == "debugger"
