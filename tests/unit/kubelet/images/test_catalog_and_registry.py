from __future__ import annotations

import pathlib
import tomllib

import yaml

from pyk8s.kubelet.images import catalog, mirrors, registry

SEED_IMAGES = ["nginx:1.15.4", "nginx:1.7.9", "nginx:latest", "nginx", "busybox:1.28.4", "busybox:1.28", "busybox",
               "registry.cn-hangzhou.aliyuncs.com/hujiaming/nginx:1.24.0", "k8s.gcr.io/nginx-slim:0.8",
               "ikubernetes/myapp:v1", "ikubernetes/myapp:v2", "perl"]


def test_seed_images_name_offline_images() -> None:
    assert catalog.image_of(catalog.normalise("nginx:1.15.4")) == "nginx"
    for ref in SEED_IMAGES:
        assert catalog.image_of(catalog.normalise(ref)) is not None, ref
    assert catalog.image_of("registry.k8s.io/metrics-server/metrics-server:v0.7.1") is None


def test_normalise_as_the_runtime_reads_names() -> None:
    assert catalog.normalise("nginx") == "docker.io/library/nginx:latest"
    assert catalog.normalise("tutum/dnsutils") == "docker.io/tutum/dnsutils:latest"
    assert catalog.normalise("registry.k8s.io/pause:3.9") == "registry.k8s.io/pause:3.9"
    assert catalog.normalise("localhost:5000/app") == "localhost:5000/app:latest"
    assert catalog.normalise("busybox:1.28@sha256:abc") == "docker.io/library/busybox:1.28"


def test_each_registry_path_holds_one_image() -> None:
    # One local registry mirrors every host: a path two hosts share must name the same image.
    owner: dict[str, str] = {}
    for name, refs in catalog.IMAGES.items():
        for ref in refs:
            path = catalog.registry_path(ref)
            assert owner.setdefault(path, name) == name, path
    assert catalog.registry_path("registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3") == \
        "e2e-test-images/jessie-dnsutils:1.3"
    assert {"docker.io", "registry.k8s.io", "k8s.gcr.io"} <= set(catalog.mirrored_hosts())


def test_mirror_config_puts_user_mirrors_first_and_never_upstream() -> None:
    user = {"mirrors": {"docker.io": {"endpoint": ["https://mirror.example:5443"]},
                        "quay.io": {"endpoint": ["https://quay-mirror.example"]}},
            "configs": {"mirror.example:5443": {"tls": {"insecure_skip_verify": True}}}}
    config = registry.mirror_config("127.0.0.1:5000", user)
    assert config["mirrors"]["docker.io"]["endpoint"] == ["https://mirror.example:5443", "http://127.0.0.1:5000"]
    assert config["mirrors"]["registry.k8s.io"]["endpoint"] == ["http://127.0.0.1:5000"]
    assert config["mirrors"]["quay.io"]["endpoint"] == ["https://quay-mirror.example"]
    assert config["configs"] == user["configs"]
    for mirror in config["mirrors"].values():
        assert not any(host in endpoint for endpoint in mirror["endpoint"] for host in ("docker.io", "registry.k8s.io"))


def test_registry_config_serves_plain_http_on_loopback(tmp_path: pathlib.Path) -> None:
    config = yaml.safe_load(registry.registry_config(tmp_path, "127.0.0.1:5000"))
    assert config["http"]["addr"] == "127.0.0.1:5000"
    assert config["storage"]["filesystem"]["rootdirectory"] == str(tmp_path / "storage")
    assert "tls" not in config["http"]


def test_upstream_comes_after_the_mirrors_only_when_allowed(tmp_path: pathlib.Path) -> None:
    config = registry.mirror_config("127.0.0.1:5000")
    mirrors.write_hosts_dir(tmp_path / "closed", config)
    mirrors.write_hosts_dir(tmp_path / "open", config, upstream=True)
    closed = tomllib.loads((tmp_path / "closed" / "docker.io" / "hosts.toml").read_text())
    opened = tomllib.loads((tmp_path / "open" / "docker.io" / "hosts.toml").read_text())
    assert closed["server"] == "http://127.0.0.1:5000"
    assert opened["server"] == "https://registry-1.docker.io"
    assert list(opened["host"]) == list(closed["host"]) == ["http://127.0.0.1:5000"]
    k8s = tomllib.loads((tmp_path / "open" / "registry.k8s.io" / "hosts.toml").read_text())
    assert k8s["server"] == "https://registry.k8s.io"
