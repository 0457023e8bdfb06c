from __future__ import annotations

import gzip
import hashlib
import json
import pathlib
import tarfile
import tomllib

from pyk8s.kubelet.images import mirrors, oci


def test_hosts_toml_per_mirror(tmp_path: pathlib.Path) -> None:
    registries = {
        "mirrors": {"docker.io": {"endpoint": ["http://127.0.0.1:5000"]}, "quay.io": {"endpoint": ["https://10.0.0.1:5443"]}},
        "configs": {"10.0.0.1:5443": {"tls": {"insecure_skip_verify": True}}},
    }
    written = mirrors.write_hosts_dir(tmp_path / "certs.d", registries)
    assert sorted(p.parent.name for p in written) == ["docker.io", "quay.io"]
    docker = tomllib.loads((tmp_path / "certs.d" / "docker.io" / "hosts.toml").read_text())
    assert docker["server"] == "http://127.0.0.1:5000"
    assert docker["host"]["http://127.0.0.1:5000"]["capabilities"] == ["pull", "resolve"]
    assert "skip_verify" not in docker["host"]["http://127.0.0.1:5000"]
    quay = tomllib.loads((tmp_path / "certs.d" / "quay.io" / "hosts.toml").read_text())
    assert quay["host"]["https://10.0.0.1:5443"]["skip_verify"] is True


def test_layout_is_valid_and_deterministic(tmp_path: pathlib.Path) -> None:
    spec = oci.ImageSpec(
        name="tiny", refs=["docker.io/library/tiny:1", "docker.io/library/tiny:latest"],
        entries=[oci.LayerEntry("bin", kind="dir"), oci.LayerEntry("bin/hello", data=b"#!/bin/sh\necho hi\n"),
                 oci.LayerEntry("bin/hi", kind="symlink", target="hello")],
        cmd=["/bin/hello"],
    )
    first = oci.write_layout(spec, tmp_path / "a")
    assert oci.write_layout(spec, tmp_path / "b") == first
    index = json.loads((tmp_path / "a" / "index.json").read_text())
    names = [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]]
    assert names == ["docker.io/library/tiny:1", "docker.io/library/tiny:latest"]
    assert oci.manifest_digests(tmp_path / "a") == {"docker.io/library/tiny:1": first, "docker.io/library/tiny:latest": first}
    blobs = tmp_path / "a" / "blobs" / "sha256"
    for blob in blobs.iterdir():
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    manifest = json.loads((blobs / first.split(":")[1]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    layer_blob = (blobs / manifest["layers"][0]["digest"].split(":")[1]).read_bytes()
    assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(gzip.decompress(layer_blob)).hexdigest()]
    assert config["config"]["Cmd"] == ["/bin/hello"]
    with tarfile.open(blobs / manifest["layers"][0]["digest"].split(":")[1]) as layer:
        assert layer.getmember("bin/hi").issym() and layer.extractfile("bin/hello").read().startswith(b"#!")  # type: ignore[union-attr]
    oci.write_archive(tmp_path / "a", tmp_path / "tiny.tar")
    with tarfile.open(tmp_path / "tiny.tar") as archive:
        assert {"oci-layout", "index.json"} <= set(archive.getnames())


def test_upper_layers_share_the_base_blob(tmp_path: pathlib.Path) -> None:
    base = [oci.LayerEntry("etc", kind="dir"), oci.LayerEntry("etc/page", data=b"base\n", mode=0o644)]
    plain = oci.ImageSpec(name="base", refs=["docker.io/library/base:1"], entries=base)
    derived = oci.ImageSpec(name="app", refs=["docker.io/library/app:1"], entries=base,
                            upper_layers=[[oci.LayerEntry("etc/page", data=b"app\n", mode=0o644)]])
    oci.write_layout(plain, tmp_path / "base")
    digest = oci.write_layout(derived, tmp_path / "app")
    blobs = tmp_path / "app" / "blobs" / "sha256"
    manifest = json.loads((blobs / digest.split(":")[1]).read_text())
    base_manifest_digest = oci.manifest_digests(tmp_path / "base")["docker.io/library/base:1"]
    base_manifest = json.loads((tmp_path / "base" / "blobs" / "sha256" / base_manifest_digest.split(":")[1]).read_text())
    assert len(manifest["layers"]) == 2 and manifest["layers"][0] == base_manifest["layers"][0]
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    assert len(config["rootfs"]["diff_ids"]) == len(config["history"]) == 2
    oci.unpack_layout(tmp_path / "app", tmp_path / "rootfs")
    assert (tmp_path / "rootfs" / "etc" / "page").read_bytes() == b"app\n"
