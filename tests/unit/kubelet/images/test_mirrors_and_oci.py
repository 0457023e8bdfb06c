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
