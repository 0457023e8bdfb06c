"""The kubelet-managed /etc/hosts every container of a pod mounts (upstream ``makeHostsMount``).

Off the host network it lists localhost, the IPv6 names, and the pod's IPs
with its hostname (``<ip>\t<hostname>.<domain>\t<hostname>`` when the pod has
a subdomain); on the host network it is the node's /etc/hosts.  Either way
``hostAliases`` follow under ``# Entries added by HostAliases.``.  The file
lives at ``<pod dir>/etc-hosts`` and is bind-mounted at /etc/hosts unless the
container mounts something there itself.
"""

from __future__ import annotations

import pathlib
from typing import Any

Obj = dict[str, Any]
HEADER = """# Kubernetes-managed hosts file.
127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
fe00::0\tip6-mcastprefix
fe00::1\tip6-allnodes
fe00::2\tip6-allrouters
"""


def hosts_content(pod_ips: list[str], hostname: str, domain: str, host_aliases: list[Obj], *,
                  host_network: bool, node_hosts: str = "/etc/hosts") -> str:
    if host_network:
        try:
            text = pathlib.Path(node_hosts).read_text()
        except OSError:
            text = ""
    else:
        lines = [HEADER]
        for ip in pod_ips:
            lines.append(f"{ip}\t{hostname}.{domain}\t{hostname}\n" if domain else f"{ip}\t{hostname}\n")
        text = "".join(lines)
    if host_aliases:
        text += "\n# Entries added by HostAliases.\n"
        for alias in host_aliases:
            text += f"{alias.get('ip', '')}\t" + "\t".join(alias.get("hostnames") or []) + "\n"
    return text


def write_hosts_file(pod_dir: pathlib.Path, content: str) -> pathlib.Path:
    pod_dir.mkdir(parents=True, exist_ok=True)
    path = pod_dir / "etc-hosts"
    # Rewritten only on change: containers read this file live through their bind mount.
    if not path.exists() or path.read_text() != content:
        path.write_text(content)
        path.chmod(0o644)
    return path
