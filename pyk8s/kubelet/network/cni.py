"""The node's CNI network configuration (a cniVersion 1.0.0 conflist).

containerd's CRI plugin reads the lexically first ``*.conflist`` in its
``conf_dir`` and runs Debian's plugins from /usr/lib/cni.  Our chain is:

* ``bridge`` on ``cni0`` with ``isGateway`` (the bridge gets the subnet's
  first address and is the pods' default gateway), ``hairpinMode`` (a pod can
  reach itself through a Service VIP) and ``ipMasq: false`` — nothing is NATed
  off the node, so pod traffic never leaves the machine by accident;
* ``host-local`` IPAM on the node's pod CIDR, with its state under our data dir;
* ``portmap`` for hostPort mappings.

containerd attaches loopback itself.  Until this file exists the runtime
reports NetworkReady=false, which is the kubelet's signal to write it.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib

import orjson

CONFLIST_NAME = "10-pyk8s-bridge.conflist"
DEFAULT_BRIDGE = "cni0"
NETWORK_NAME = "pyk8s"


def bridge_conflist(pod_cidr: str, *, bridge: str = DEFAULT_BRIDGE, ipam_dir: str = "") -> dict[str, object]:
    net = ipaddress.ip_network(pod_cidr, strict=False)
    gateway = str(net.network_address + 1)
    ipam: dict[str, object] = {
        "type": "host-local",
        "ranges": [[{"subnet": str(net), "gateway": gateway}]],
        "routes": [{"dst": "0.0.0.0/0"}],
    }
    if ipam_dir:
        ipam["dataDir"] = ipam_dir
    return {
        "cniVersion": "1.0.0",
        "name": NETWORK_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "hairpinMode": True,
                "ipMasq": False,
                "ipam": ipam,
            },
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": False},
        ],
    }


def write_cni_config(conf_dir: pathlib.Path, pod_cidr: str, *, bridge: str = DEFAULT_BRIDGE, ipam_dir: str = "") -> pathlib.Path:
    """Writes the conflist atomically (containerd watches the directory) and returns its path."""
    conf_dir.mkdir(parents=True, exist_ok=True)
    path = conf_dir / CONFLIST_NAME
    tmp = conf_dir / f".{CONFLIST_NAME}.tmp"
    tmp.write_bytes(orjson.dumps(bridge_conflist(pod_cidr, bridge=bridge, ipam_dir=ipam_dir), option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)
    return path
