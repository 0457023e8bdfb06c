"""crictl-format pod/container config files map onto the interface dataclasses."""

from __future__ import annotations

from pyk8s.cli.crictl import container_config_from_dict, pod_config_from_dict


def test_pod_config_from_crictl_json() -> None:
    pod = pod_config_from_dict({
        "metadata": {"name": "nginx-sandbox", "namespace": "default", "attempt": 1, "uid": "hdishd83djaidwnduwk28bcsb"},
        "log_directory": "/tmp", "port_mappings": [{"container_port": 80, "host_port": 8080}],
        "linux": {"security_context": {"namespace_options": {"network": 2}}}, "labels": {"app": "x"},
    })
    assert (pod.metadata.name, pod.metadata.attempt, pod.metadata.uid) == ("nginx-sandbox", 1, "hdishd83djaidwnduwk28bcsb")
    assert pod.port_mappings[0].host_port == 8080 and pod.host_network and pod.labels == {"app": "x"}


def test_container_config_from_crictl_json() -> None:
    cfg = container_config_from_dict({
        "metadata": {"name": "busybox"}, "image": {"image": "busybox"}, "command": ["top"],
        "envs": [{"key": "A", "value": "b"}], "log_path": "busybox.0.log", "tty": True,
        "linux": {"resources": {"cpu_quota": 20000, "memory_limit_in_bytes": 1048576}},
        "mounts": [{"container_path": "/data", "host_path": "/srv", "readonly": True}],
    })
    assert cfg.image == "busybox" and cfg.command == ["top"] and cfg.envs == {"A": "b"} and cfg.tty
    assert cfg.resources is not None and cfg.resources.cpu_quota == 20000 and cfg.resources.memory_limit_in_bytes == 1048576
    assert cfg.mounts[0].readonly and cfg.mounts[0].host_path == "/srv"
