from __future__ import annotations

import pathlib

import orjson

from pyk8s.kubelet.network import cni


def test_bridge_conflist(tmp_path: pathlib.Path) -> None:
    path = cni.write_cni_config(tmp_path / "net.d", "10.244.3.0/24", ipam_dir="/data/ipam")
    conf = orjson.loads(path.read_bytes())
    assert conf["cniVersion"] == "1.0.0" and path.name.endswith(".conflist")
    bridge, portmap = conf["plugins"]
    assert bridge["type"] == "bridge" and bridge["bridge"] == "cni0"
    assert bridge["isGateway"] is True and bridge["hairpinMode"] is True and bridge["ipMasq"] is False
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.244.3.0/24", "gateway": "10.244.3.1"}]]
    assert bridge["ipam"]["dataDir"] == "/data/ipam"
    assert portmap["type"] == "portmap" and portmap["capabilities"] == {"portMappings": True}
    assert not list((tmp_path / "net.d").glob(".*.tmp"))
