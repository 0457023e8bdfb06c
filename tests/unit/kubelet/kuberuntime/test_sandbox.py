"""Sandbox config: hostname, DNS, ports, cgroup parent by QoS, labels and annotations."""

from __future__ import annotations

import dataclasses

import pytest

from pyk8s.kubelet.kuberuntime import dns, hostsfile, labels, sandbox
from pyk8s.kubelet.kuberuntime.manager import RuntimeManager
from pyk8s.kubelet.kuberuntime.settings import RuntimeSettings
from pyk8s.testing.fake_objects import FakeObjectSource
from pyk8s.testing.fake_runtime import FakeRuntime

from .conftest import ctr, make_pod


def test_hostname_subdomain_and_truncation(settings: RuntimeSettings) -> None:
    pod = make_pod("web-0", hostname="db", subdomain="dbs")
    plan = sandbox.sandbox_config(pod, settings, attempt=0)
    assert plan.config.hostname == "db" and plan.domain == "dbs.default.svc.cluster.local"
    fqdn = sandbox.sandbox_config(make_pod("web-0", hostname="db", subdomain="dbs", setHostnameAsFQDN=True),
                                  settings, 0)
    assert fqdn.config.hostname == "db.dbs.default.svc.cluster.local"
    long_name = "a" * 62 + "-b" + "c" * 10
    assert sandbox.sandbox_config(make_pod(long_name), settings, 0).config.hostname == "a" * 62
    assert sandbox.sandbox_config(make_pod("h", hostNetwork=True), settings, 0).config.hostname == ""


def test_metadata_labels_logs_and_ports(settings: RuntimeSettings) -> None:
    pod = make_pod(containers=[ctr("app", ports=[{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"},
                                                 {"containerPort": 53, "protocol": "UDP"}])],
                   securityContext={"sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"}]})
    cfg = sandbox.sandbox_config(pod, settings, attempt=2).config
    assert (cfg.metadata.name, cfg.metadata.namespace, cfg.metadata.uid, cfg.metadata.attempt) == \
        ("web", "default", "uid-1", 2)
    assert cfg.labels == {"app": "web", labels.POD_NAME: "web", labels.POD_NAMESPACE: "default",
                          labels.POD_UID: "uid-1"}
    assert cfg.annotations == {"note": "x"}
    assert cfg.log_directory == str(settings.logs_dir / "default_web_uid-1")
    assert [(p.container_port, p.host_port, p.protocol) for p in cfg.port_mappings] == [(80, 8080, "TCP"),
                                                                                        (53, 0, "UDP")]
    assert cfg.sysctls == {"net.ipv4.ip_local_port_range": "1024 65000"}


@pytest.mark.parametrize(("resources", "parent"), [
    ({}, "/kubepods/besteffort/poduid-1"),
    ({"requests": {"cpu": "100m"}}, "/kubepods/burstable/poduid-1"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}, "/kubepods/poduid-1"),
])
def test_cgroup_parent_by_qos(settings: RuntimeSettings, resources: dict, parent: str) -> None:
    s = dataclasses.replace(settings, cgroup_root="/kubepods")
    pod = make_pod(containers=[ctr("app", resources=resources)])
    assert sandbox.sandbox_config(pod, s, 0).config.cgroup_parent == parent


def _dns(settings: RuntimeSettings, **spec: object) -> dns.DNSResult:
    return dns.pod_dns(make_pod(namespace="shop", **spec), cluster_dns=settings.cluster_dns,
                       cluster_domain=settings.cluster_domain, resolv_conf=settings.resolv_conf,
                       node_ips=settings.node_ips)


def test_dns_policies(settings: RuntimeSettings) -> None:
    cluster = _dns(settings).config
    assert cluster.servers == ["10.96.0.10"]
    assert cluster.searches == ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"]
    assert cluster.options == ["ndots:5"]
    host = _dns(settings, dnsPolicy="Default").config
    assert (host.servers, host.searches, host.options) == (["192.0.2.53"], ["corp.example"], ["timeout:2"])
    assert _dns(settings, hostNetwork=True).config.servers == ["192.0.2.53"]
    assert _dns(settings, hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet").config.servers == ["10.96.0.10"]
    none = _dns(settings, dnsPolicy="None", dnsConfig={
        "nameservers": ["1.1.1.1"], "searches": ["a.example"], "options": [{"name": "ndots", "value": "2"},
                                                                            {"name": "edns0"}]}).config
    assert (none.servers, none.searches, none.options) == (["1.1.1.1"], ["a.example"], ["ndots:2", "edns0"])
    merged = _dns(settings, dnsConfig={"nameservers": ["10.96.0.10", "9.9.9.9"],
                                       "options": [{"name": "ndots", "value": "1"}]}).config
    assert merged.servers == ["10.96.0.10", "9.9.9.9"] and merged.options == ["ndots:1"]


def test_dns_limits_and_missing_cluster_dns(settings: RuntimeSettings) -> None:
    many = _dns(settings, dnsConfig={"nameservers": ["1.1.1.1", "2.2.2.2", "3.3.3.3"]})
    assert many.config.servers == ["10.96.0.10", "1.1.1.1", "2.2.2.2"]
    assert many.warnings == [("DNSConfigForming", "Nameserver limits were exceeded, some nameservers have been "
                              "omitted, the applied nameserver line is: 10.96.0.10 1.1.1.1 2.2.2.2")]
    fallback = dns.pod_dns(make_pod(), cluster_dns=[], cluster_domain="cluster.local",
                           resolv_conf=settings.resolv_conf, node_ips=[])
    assert fallback.config.servers == ["192.0.2.53"]
    assert fallback.warnings[0][0] == "MissingClusterDNS"
    assert "Falling back to \"Default\" policy." in fallback.warnings[0][1]


def test_hosts_file() -> None:
    text = hostsfile.hosts_content(["10.244.0.5"], "db", "dbs.default.svc.cluster.local",
                                   [{"ip": "1.2.3.4", "hostnames": ["foo.local", "bar.local"]}], host_network=False)
    assert text.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert "10.244.0.5\tdb.dbs.default.svc.cluster.local\tdb\n" in text
    assert text.endswith("\n# Entries added by HostAliases.\n1.2.3.4\tfoo.local\tbar.local\n")


def test_container_hash_covers_name_and_image_only() -> None:
    a = ctr("app", command=["sleep", "1"])
    assert labels.container_hash(a) == labels.container_hash(ctr("app", command=["other"]))
    assert labels.container_hash(a) != labels.container_hash(ctr("app", image="nginx:1.25"))
    assert labels.fnv32a(b"") == 0x811C9DC5 and labels.fnv32a(b"a") == 0xE40C292C


async def test_runtime_class_selects_the_handler(manager: RuntimeManager, runtime: FakeRuntime,
                                                 sources: FakeObjectSource) -> None:
    sources.add({"kind": "RuntimeClass", "metadata": {"name": "sandboxed"}, "handler": "runsc"})
    assert (await manager.sync_pod(make_pod(runtimeClassName="sandboxed"))).ok
    assert (await manager.sync_pod(make_pod("plain", uid="uid-2"))).ok
    handlers = {s.metadata.name: s.runtime_handler for s in runtime.sandboxes.values()}
    assert handlers == {"web": "runsc", "plain": ""}


async def test_unreadable_runtime_class_fails_the_sandbox(manager: RuntimeManager, runtime: FakeRuntime) -> None:
    result = await manager.sync_pod(make_pod(runtimeClassName="gone"))
    assert [(s.error, s.message) for s in result.steps] == [
        ("CreatePodSandboxError", 'Failed to create sandbox for pod "web_default(uid-1)": '
                                  'runtimeclass.node.k8s.io "gone" not found')]
    assert [(e.reason, e.message) for e in result.events] == [
        ("FailedCreatePodSandBox", 'Failed to create pod sandbox: runtimeclass.node.k8s.io "gone" not found')]
    assert not runtime.sandboxes
