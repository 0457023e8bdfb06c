"""The PodSandboxConfig for a pod (upstream ``generatePodSandboxConfig``).

Hostname is ``spec.hostname`` or the pod name cut to 63 characters (trailing
``-``/``.`` trimmed); with ``subdomain`` the pod's domain is
``<subdomain>.<ns>.svc.<cluster domain>`` (used for /etc/hosts, and as the
kernel hostname only with ``setHostnameAsFQDN``).  Host-network pods keep the
node's hostname.  Port mappings cover every port of the app containers (the
runtime maps those with a hostPort).  The cgroup parent is the pod's cgroup
under its QoS class: ``<root>/pod<uid>`` for Guaranteed,
``<root>/burstable/pod<uid>``, ``<root>/besteffort/pod<uid>``.

The sandbox's security context carries the pod's PID and IPC namespace
modes (``hostPID``, ``shareProcessNamespace``, ``hostIPC``), its SELinux
label, user and groups, and RuntimeDefault seccomp for the sandbox's own
process (upstream ``generatePodSandboxLinuxConfig``).

The runtime handler is the pod's RuntimeClass's ``handler`` (upstream's
RuntimeClass manager), the kubelet's default without ``runtimeClassName``;
a class that cannot be read fails the sandbox (FailedCreatePodSandBox), as
does a handler the runtime does not have (the runtime's own error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pyk8s.api.core_v1 import pod as pod_api
from pyk8s.kubelet.kuberuntime import dns, labels, security
from pyk8s.kubelet.kuberuntime.settings import RuntimeSettings
from pyk8s.kubelet.kuberuntime.sources import ObjectNotFound, ObjectSource
from pyk8s.kubelet.runtime import interface as ri

Obj = dict[str, Any]
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
HOSTNAME_MAX = 63
FQDN_MAX = 64


class SandboxConfigError(Exception):
    """The pod's sandbox cannot be configured (ConfigPodSandboxError)."""


class RuntimeClassError(Exception):
    """The pod's RuntimeClass cannot be read: its sandbox cannot be created."""


@dataclass
class SandboxPlan:
    config: ri.PodSandboxConfig
    hostname: str
    domain: str
    events: list[tuple[str, str]] = field(default_factory=list)  # Warning (reason, message)


def format_pod(pod: Obj) -> str:
    """Upstream's ``format.Pod``: ``name_namespace(uid)``."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def hostname_and_domain(pod: Obj, cluster_domain: str) -> tuple[str, str]:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    hostname = meta.get("name", "")
    if spec.get("hostname"):
        if not _DNS1123_LABEL.match(spec["hostname"]) or len(spec["hostname"]) > HOSTNAME_MAX:
            raise SandboxConfigError(f'pod Hostname "{spec["hostname"]}" is not a valid DNS label')
        hostname = spec["hostname"]
    if len(hostname) > HOSTNAME_MAX:
        truncated = hostname[:HOSTNAME_MAX].rstrip("-.")
        if not truncated:
            raise SandboxConfigError(f'hostname for pod "{meta.get("name", "")}" was invalid: "{hostname}"')
        hostname = truncated
    domain = ""
    if spec.get("subdomain"):
        if not _DNS1123_LABEL.match(spec["subdomain"]):
            raise SandboxConfigError(f'pod Subdomain "{spec["subdomain"]}" is not a valid DNS label')
        domain = f"{spec['subdomain']}.{meta.get('namespace', '')}.svc.{cluster_domain}"
    return hostname, domain


def kernel_hostname(hostname: str, domain: str, as_fqdn: bool) -> str:
    if not as_fqdn or not domain:
        return hostname
    fqdn = f"{hostname}.{domain}"
    if len(fqdn) > FQDN_MAX:
        raise SandboxConfigError(
            f"failed to construct FQDN from pod hostname and cluster domain, FQDN {fqdn} is too long "
            f"({FQDN_MAX} characters is the max, {len(fqdn)} characters requested)")
    return fqdn


def pod_logs_directory(settings: RuntimeSettings, pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return str(settings.logs_dir / f"{meta.get('namespace', '')}_{meta.get('name', '')}_{meta.get('uid', '')}")


def cgroup_parent(settings: RuntimeSettings, pod: Obj) -> str:
    if not settings.cgroup_root:
        return ""
    qos = pod_api.qos_class(pod.get("spec") or {})
    uid = (pod.get("metadata") or {}).get("uid", "")
    tier = {"Guaranteed": "", "Burstable": "/burstable", "BestEffort": "/besteffort"}[qos]
    return f"{settings.cgroup_root}{tier}/pod{uid}"


def port_mappings(pod: Obj) -> list[ri.PortMapping]:
    out = []
    for ctr in (pod.get("spec") or {}).get("containers") or []:
        for port in ctr.get("ports") or []:
            out.append(ri.PortMapping(container_port=int(port.get("containerPort", 0)),
                                      host_port=int(port.get("hostPort") or 0),
                                      protocol=port.get("protocol") or "TCP", host_ip=port.get("hostIP") or ""))
    return out


def _privileged(spec: Obj) -> bool:
    return any(((c.get("securityContext") or {}).get("privileged")) for key in ("initContainers", "containers")
               for c in spec.get(key) or [])


def _security(spec: Obj) -> dict[str, Any]:
    """The sandbox's Linux security context: the pod's namespaces, SELinux label, user and groups.  Its own
    process always runs under RuntimeDefault seccomp, whatever the containers' profiles (upstream forces it,
    so that a pod-level profile may be stricter than the sandbox could bear)."""
    pod_sc = spec.get("securityContext") or {}
    return {
        "pid_mode": security.pid_mode(spec), "ipc_mode": security.ipc_mode(spec),
        "seccomp": ri.SecurityProfile("RuntimeDefault"),
        "selinux": security.selinux(pod_sc.get("seLinuxOptions")),
        "run_as_user": pod_sc.get("runAsUser"), "run_as_group": pod_sc.get("runAsGroup"),
        "supplemental_groups": security.supplemental_groups(pod_sc),
    }


def sandbox_config(pod: Obj, settings: RuntimeSettings, attempt: int) -> SandboxPlan:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    hostname, domain = hostname_and_domain(pod, settings.cluster_domain)
    dns_result = dns.pod_dns(pod, cluster_dns=settings.cluster_dns, cluster_domain=settings.cluster_domain,
                             resolv_conf=settings.resolv_conf, node_ips=settings.node_ips)
    host_network = bool(spec.get("hostNetwork"))
    sysctls = {s["name"]: str(s.get("value", "")) for s in (spec.get("securityContext") or {}).get("sysctls") or []}
    config = ri.PodSandboxConfig(
        metadata=ri.PodSandboxMetadata(name=meta.get("name", ""), namespace=meta.get("namespace", ""),
                                       uid=meta.get("uid", ""), attempt=attempt),
        hostname="" if host_network else kernel_hostname(hostname, domain, bool(spec.get("setHostnameAsFQDN"))),
        log_directory=pod_logs_directory(settings, pod),
        dns=dns_result.config,
        port_mappings=port_mappings(pod),
        labels=labels.sandbox_labels(pod),
        annotations=labels.sandbox_annotations(pod),
        cgroup_parent=cgroup_parent(settings, pod),
        host_network=host_network,
        privileged=_privileged(spec),
        sysctls=sysctls,
        **_security(spec),
    )
    return SandboxPlan(config, hostname, domain, list(dns_result.warnings))


async def runtime_handler(pod: Obj, sources: ObjectSource, default: str) -> str:
    name = (pod.get("spec") or {}).get("runtimeClassName")
    if not name:
        return default
    try:
        runtime_class = await sources.get_runtime_class(name)
    except ObjectNotFound as exc:
        raise RuntimeClassError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - any failure to read it (API down, denied) fails this sandbox only
        raise RuntimeClassError(f"failed to lookup RuntimeClass {name}: {exc}") from exc
    return str(runtime_class.get("handler") or "")
