"""Pod Security admission through real kubectl: enforce refuses with upstream's message, warn prints
kubectl's Warning lines, invalid labels are refused, tightening warns about existing pods."""

from __future__ import annotations

from pyk8s.testing.cluster import ServerProcess


def test_enforce_and_warn(policy_cluster: ServerProcess) -> None:
    srv = policy_cluster
    srv.kubectl("create", "namespace", "psa")
    srv.kubectl("label", "namespace", "psa", "pod-security.kubernetes.io/enforce=restricted")
    refused = srv.kubectl("run", "x", "-n", "psa", "--image=busybox", "--restart=Never", check=False)
    assert refused.returncode != 0
    assert refused.stderr.strip() == (
        'Error from server (Forbidden): pods "x" is forbidden: violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (container "x" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "x" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "x" must set securityContext.runAsNonRoot=true), seccompProfile '
        '(pod or container "x" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")')

    srv.kubectl("create", "namespace", "psa-warn")
    srv.kubectl("label", "namespace", "psa-warn", "pod-security.kubernetes.io/warn=baseline")
    warned = srv.kubectl("run", "h", "-n", "psa-warn", "--image=busybox", "--restart=Never",
                         "--overrides", '{"spec":{"hostNetwork":true}}')
    assert 'Warning: would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)' in warned.stderr
    tighten = srv.kubectl("label", "namespace", "psa-warn", "pod-security.kubernetes.io/enforce=baseline")
    assert ('Warning: existing pods in namespace "psa-warn" violate the new PodSecurity enforce level '
            '"baseline:latest"') in tighten.stderr
    assert "Warning: h: host namespaces" in tighten.stderr

    bad = srv.kubectl("label", "namespace", "psa-warn", "pod-security.kubernetes.io/audit=strict", check=False)
    assert bad.returncode != 0 and bad.stderr.strip() == 'The namespaces "psa-warn" is invalid'
    status, body = srv.request("PATCH", "/api/v1/namespaces/psa-warn",
                               b'{"metadata":{"labels":{"pod-security.kubernetes.io/audit":"strict"}}}',
                               headers={"Content-Type": "application/merge-patch+json"})
    assert status == 422 and (b'namespaces \\"psa-warn\\" is invalid: metadata.labels[pod-security.kubernetes.io'
                              b'/audit]: Invalid value: \\"strict\\": must be one of privileged, baseline, '
                              b'restricted') in body
