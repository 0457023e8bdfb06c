from __future__ import annotations

import pathlib

import yaml

from pyk8s.kubelet.images import catalog, registry

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
