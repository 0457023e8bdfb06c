"""Credentials of the control-plane components, issued by the cluster CA into the data directory.

As kubeadm writes ``scheduler.conf``, ``controller-manager.conf`` and
``kubelet.conf``, the server writes one kubeconfig per component with a
client certificate naming its user, so each runs with the least rights the
bootstrap policy gives it rather than as the admin:

* ``scheduler.kubeconfig``: ``system:kube-scheduler``;
* ``controller-manager.kubeconfig``: ``system:kube-controller-manager``
  (shared informers, leader election);
* ``controllers/<account>.kubeconfig``: each controller's ServiceAccount
  ``system:serviceaccount:kube-system:<account>`` (upstream's
  ``--use-service-account-credentials``; here a certificate rather than a
  token, same user and groups; the two accounts whose user names exceed a
  CommonName's 64 characters, ``clusterrole-aggregation-controller`` and
  ``endpointslicemirroring-controller``, get no certificate: the controller
  manager asks a TokenRequest for them, as upstream does for every account);
* ``kubelet.kubeconfig``: ``system:node:<node>`` in ``system:nodes``, and each simulated node's
  ``simulated-nodes/<node>.kubeconfig`` likewise (``ensure_node_kubeconfig``);
* ``kube-proxy.kubeconfig``: ``system:kube-proxy``;
* ``dns.kubeconfig`` and ``ingress.kubeconfig``: the ServiceAccounts
  ``kube-system/coredns`` and ``kube-system/pyk8s-ingress`` (``addonpolicy.py``).

Certificates are made once and reused; keys are 0600.
"""

from __future__ import annotations

import socket
from pathlib import Path

from pyk8s.apiserver.authorization import addonpolicy
from pyk8s.apiserver.authorization.bootstrappolicy import CONTROLLER_PREFIX
from pyk8s.apiserver.authorization.controllerpolicy import controller_roles
from pyk8s.util import kubeconfig, pki

SCHEDULER = "scheduler"
CONTROLLER_MANAGER = "controller-manager"
KUBELET = "kubelet"
KUBE_PROXY = "kube-proxy"
DNS = "dns"
INGRESS = "ingress"
_SA_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:kube-system")
#: component -> (user, groups)
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    SCHEDULER: ("system:kube-scheduler", ()),
    CONTROLLER_MANAGER: ("system:kube-controller-manager", ()),
    KUBE_PROXY: ("system:kube-proxy", ()),
    # The add-ons as the ServiceAccounts their roles are bound to (``addonpolicy.py``).
    DNS: (f"system:serviceaccount:kube-system:{addonpolicy.DNS_ACCOUNT}", _SA_GROUPS),
    INGRESS: (f"system:serviceaccount:kube-system:{addonpolicy.INGRESS_ACCOUNT}", _SA_GROUPS),
}
#: controller-manager controller name -> the kube-system ServiceAccount it runs as (upstream's names).
CONTROLLER_ACCOUNTS = {
    "garbage-collector-controller": "generic-garbage-collector",
    "namespace-controller": "namespace-controller",
    "serviceaccount-controller": "service-account-controller",
    "root-ca-certificate-publisher-controller": "root-ca-cert-publisher",
    "endpoints-controller": "endpoint-controller",
    "endpointslice-controller": "endpointslice-controller",
    "endpointslice-mirroring-controller": "endpointslicemirroring-controller",
    "node-lifecycle-controller": "node-controller",
    "node-ipam-controller": "node-controller",
    "pod-garbage-collector-controller": "pod-garbage-collector",
    "persistentvolume-binder-controller": "persistent-volume-binder",
    "persistentvolume-expander-controller": "expand-controller",
    "persistentvolumeclaim-protection-controller": "pvc-protection-controller",
    "persistentvolume-protection-controller": "pv-protection-controller",
    "local-path-provisioner": "local-path-provisioner",
    "replicaset-controller": "replicaset-controller",
    "replicationcontroller-controller": "replication-controller",
    "deployment-controller": "deployment-controller",
    "statefulset-controller": "statefulset-controller",
    "daemonset-controller": "daemon-set-controller",
    "job-controller": "job-controller",
    "cronjob-controller": "cronjob-controller",
    "ttl-after-finished-controller": "ttl-after-finished-controller",
    "ttl-controller": "ttl-controller",
    "disruption-controller": "disruption-controller",
    "resourcequota-controller": "resourcequota-controller",
    "horizontal-pod-autoscaler-controller": "horizontal-pod-autoscaler",
    "clusterrole-aggregation-controller": "clusterrole-aggregation-controller",
    "certificatesigningrequest-signing-controller": "certificate-controller",
    "certificatesigningrequest-approving-controller": "certificate-controller",
    "certificatesigningrequest-cleaner-controller": "certificate-controller",
    "service-lb-controller": "service-controller",
    "ephemeral-volume-controller": "ephemeral-volume-controller",
}


#: X.509's upper bound on a CommonName (ub-common-name): two upstream account names are longer as users.
MAX_COMMON_NAME = 64

#: Controllers upstream runs with the controller manager's own credentials, not a ServiceAccount.
MANAGER_CONTROLLERS = frozenset({"serviceaccount-token-controller"})


def node_name() -> str:
    """The name the server's own kubelet registers under."""
    return socket.gethostname().lower()


def kubeconfig_path(data_dir: Path, component: str) -> Path:
    return data_dir / f"{component}.kubeconfig"


def controller_kubeconfig_path(data_dir: Path, account: str) -> Path:
    return data_dir / "controllers" / f"{account}.kubeconfig"


def simulated_node_kubeconfig_path(data_dir: Path, node: str) -> Path:
    return data_dir / "simulated-nodes" / f"{node}.kubeconfig"


def account_user(account: str) -> str:
    """The user a kube-system ServiceAccount authenticates as."""
    return f"system:serviceaccount:kube-system:{account}"


def has_certificate(account: str) -> bool:
    """Whether a controller account's user name fits a certificate's CommonName."""
    return len(account_user(account)) <= MAX_COMMON_NAME


def _write(path: Path, server: str, ca: pki.KeyPair, pair: pki.KeyPair, user: str) -> None:
    doc = kubeconfig.build_kubeconfig(server=server, ca_pem=ca.cert_pem, user=user, client_cert_pem=pair.cert_pem,
                                      client_key_pem=pair.key_pem)
    kubeconfig.write_kubeconfig(path, doc)


def _pair(ca: pki.KeyPair, directory: Path, stem: str, user: str, groups: tuple[str, ...]) -> pki.KeyPair:
    cert, key = directory / f"{stem}.crt", directory / f"{stem}.key"
    if cert.exists() and key.exists():
        return pki.KeyPair(cert.read_bytes(), key.read_bytes(), cert, key)
    return pki.issue_cert(ca, cert, key, common_name=user, organizations=groups)


def ensure_component_kubeconfigs(data_dir: Path, pki_dir: Path, server: str, ca: pki.KeyPair,
                                 node: str | None = None) -> None:
    """Issue (first start) or reuse each component's certificate; (re)write its kubeconfig."""
    for component, (user, groups) in USERS.items():
        _write(kubeconfig_path(data_dir, component), server, ca, _pair(ca, pki_dir, component, user, groups), user)
    ensure_node_kubeconfig(kubeconfig_path(data_dir, KUBELET), pki_dir, server, ca, node or node_name())
    accounts = sorted({r["metadata"]["name"][len(CONTROLLER_PREFIX):] for r in controller_roles()})
    for account in accounts:
        if not has_certificate(account):
            continue  # cannot be a certificate's CN: the controller manager requests a token instead
        user = account_user(account)
        pair = _pair(ca, pki_dir / "controllers", account, user, _SA_GROUPS)
        _write(controller_kubeconfig_path(data_dir, account), server, ca, pair, user)


def ensure_node_kubeconfig(path: Path, pki_dir: Path, server: str, ca: pki.KeyPair, node: str) -> Path:
    """A kubelet's credentials, as kubeadm's ``kubelet.conf``: ``system:node:<node>`` in ``system:nodes``."""
    user = f"system:node:{node}"
    _write(path, server, ca, _pair(ca, pki_dir, f"kubelet-{node}", user, ("system:nodes",)), user)
    return path
