"""A one-node cluster with RBAC on (the default ``Node,RBAC``) and every component under its own identity.

The server runs its controller manager (each controller as its ServiceAccount)
and scheduler (``system:kube-scheduler``) in process; the kubelet runs in a
node network namespace (as ``tests/e2e/kubelet``) with a certificate for
``system:node:auth-node`` in ``system:nodes``, not the admin's.  Test users
are client certificates signed by the cluster CA (``Users.kubeconfig``), or
a ServiceAccount token.  One cluster serves every test in this folder.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from pyk8s.kubelet.images import build
from pyk8s.testing.cluster import ServerProcess
from pyk8s.testing.kubelet import KubeletProcess
from pyk8s.testing.nodenet import NodeNetns
from pyk8s.util import kubeconfig, pki

NODE = "auth-node"
NS = "authz"


@dataclass
class Users:
    """Kubeconfigs for test identities, made from the cluster CA."""

    server: ServerProcess
    dir: pathlib.Path = field(default_factory=lambda: pathlib.Path(tempfile.mkdtemp(prefix="pyk8s-authz-users-")))

    def _ca(self) -> pki.KeyPair:
        d = pathlib.Path(self.server.data_dir) / "pki"
        return pki.KeyPair((d / "ca.crt").read_bytes(), (d / "ca.key").read_bytes(), d / "ca.crt", d / "ca.key")

    def kubeconfig(self, user: str, groups: tuple[str, ...] = (), *, token: str = "") -> str:
        stem = user.replace(":", "_") + ("-token" if token else "")
        path = self.dir / f"{stem}.kubeconfig"
        if path.exists():
            return str(path)
        ca = self._ca()
        if token:
            doc = kubeconfig.build_kubeconfig(server=self.server.url, ca_pem=ca.cert_pem, user=stem, token=token)
        elif user == "":
            doc = kubeconfig.build_kubeconfig(server=self.server.url, ca_pem=ca.cert_pem, user="anonymous")
        else:
            pair = pki.issue_cert(ca, self.dir / f"{stem}.crt", self.dir / f"{stem}.key", common_name=user,
                                  organizations=groups)
            doc = kubeconfig.build_kubeconfig(server=self.server.url, ca_pem=ca.cert_pem, user=stem,
                                              client_cert_pem=pair.cert_pem, client_key_pem=pair.key_pem)
        kubeconfig.write_kubeconfig(path, doc)
        return str(path)

    def kubectl(self, kc: str, *args: str, input: str | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        env["HOME"] = self.server.home
        return subprocess.run(["kubectl", f"--kubeconfig={kc}", f"--cache-dir={self.dir / 'cache'}", *args],
                              input=input, capture_output=True, text=True, timeout=timeout, env=env, check=False)


class NodeKubelet(KubeletProcess):
    """The kubelet with its own node credentials instead of the admin's."""

    def __init__(self, server: ServerProcess, netns: NodeNetns, node_kubeconfig: str) -> None:
        super().__init__(server, netns, node_name=NODE)
        self.node_kubeconfig = node_kubeconfig

    def command(self) -> list[str]:
        cmd = super().command()
        cmd[cmd.index(self.server.kubeconfig)] = self.node_kubeconfig
        return cmd


@dataclass
class Cluster:
    server: ServerProcess
    kubelet: NodeKubelet
    netns: NodeNetns
    users: Users

    def admin(self, *args: str, check: bool = True, input: str | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return self.server.kubectl(*args, check=check, input=input, timeout=timeout)


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for binary in ("containerd", "runc", "nsenter", "ip", "kubectl"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed"
    return None


@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    missing = _missing()
    if missing and os.environ.get("PYK8S_NO_CONTAINERD") == "1":
        pytest.skip(f"auth e2e: {missing} (PYK8S_NO_CONTAINERD=1)")
    assert missing is None, f"auth e2e tests need root and containerd: {missing}"
    build.build(build.DEFAULT_OUT)
    netns = NodeNetns().create()
    server: ServerProcess | None = None
    kubelet: NodeKubelet | None = None
    users: Users | None = None
    try:
        server = ServerProcess(control_plane=True, bind_address=netns.host_ip).start()
        users = Users(server)
        node_kc = users.kubeconfig(f"system:node:{NODE}", ("system:nodes",))
        kubelet = NodeKubelet(server, netns, node_kc)
        kubelet.start()
        kubelet.wait_ready()
        server.kubectl("create", "namespace", NS)
        yield Cluster(server, kubelet, netns, users)
    finally:
        try:
            if kubelet is not None:
                kubelet.close()
        finally:
            if server is not None:
                server.close()
            netns.delete()
            if users is not None:
                shutil.rmtree(users.dir, ignore_errors=True)
