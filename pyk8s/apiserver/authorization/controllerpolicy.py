"""The ``system:controller:<name>`` ClusterRoles and their bindings (upstream's controller_policy.go, v1.32).

Each controller of the controller manager runs as the ServiceAccount
``kube-system/<name>`` (``--use-service-account-credentials``), bound to the
role of the same name.  ``local-path-provisioner`` is pyk8s's (k3s's) own
provisioner and gets the rights it needs for PersistentVolumes.
"""

from __future__ import annotations

from pyk8s.apiserver.authorization.bootstrappolicy import (
    APISERVER_CLIENT_KUBELET_SIGNER,
    APISERVER_CLIENT_SIGNER,
    APPS,
    AUTHZ,
    AUTOSCALING,
    BATCH,
    CERTS,
    CONTROLLER_PREFIX,
    COORD,
    CORE,
    DISCOVERY,
    EXTENSIONS,
    KUBELET_SERVING_SIGNER,
    LEGACY_UNKNOWN_SIGNER,
    POLICY,
    RBAC_GROUP,
    STORAGE,
    Obj,
    cluster_binding,
    cluster_role,
    events_rule,
    rule,
    subject,
)

GET_LIST_WATCH = ("get", "list", "watch")


def _roles() -> dict[str, list[Obj]]:
    ev = events_rule()
    return {
        "attachdetach-controller": [
            rule(("list", "watch"), CORE, ("persistentvolumes", "persistentvolumeclaims")),
            rule(GET_LIST_WATCH, CORE, "nodes"),
            rule(("patch", "update"), CORE, "nodes/status"),
            rule(("list", "watch"), CORE, "pods"),
            ev,
            rule(("get", "create", "delete", "list", "watch"), STORAGE, "volumeattachments"),
            rule(("get", "watch", "list"), STORAGE, "csidrivers"),
            rule(("get", "watch", "list"), STORAGE, "csinodes"),
        ],
        "clusterrole-aggregation-controller": [
            rule(("escalate", "get", "list", "watch", "update", "patch"), RBAC_GROUP, "clusterroles"),
        ],
        "cronjob-controller": [
            rule(("get", "list", "watch", "update"), BATCH, "cronjobs"),
            rule(("get", "list", "watch", "create", "update", "delete", "patch"), BATCH, "jobs"),
            rule("update", BATCH, "cronjobs/status"),
            rule("update", BATCH, "cronjobs/finalizers"),
            rule(("list", "delete"), CORE, "pods"),
            ev,
        ],
        "daemon-set-controller": [
            rule(GET_LIST_WATCH, (EXTENSIONS, APPS), "daemonsets"),
            rule("update", (EXTENSIONS, APPS), "daemonsets/status"),
            rule("update", (EXTENSIONS, APPS), "daemonsets/finalizers"),
            rule(("list", "watch"), CORE, "nodes"),
            rule(("list", "watch", "create", "delete", "patch"), CORE, "pods"),
            rule("create", CORE, "pods/binding"),
            rule(("get", "list", "watch", "create", "delete", "update", "patch"), APPS, "controllerrevisions"),
            ev,
        ],
        "deployment-controller": [
            rule(("get", "list", "watch", "update"), (EXTENSIONS, APPS), "deployments"),
            rule("update", (EXTENSIONS, APPS), "deployments/status"),
            rule("update", (EXTENSIONS, APPS), "deployments/finalizers"),
            rule(("get", "list", "watch", "create", "update", "patch", "delete"), (APPS, EXTENSIONS), "replicasets"),
            rule(("get", "list", "watch", "update"), CORE, "pods"),
            ev,
        ],
        "disruption-controller": [
            rule(GET_LIST_WATCH, (EXTENSIONS, APPS), "deployments"),
            rule(GET_LIST_WATCH, (APPS, EXTENSIONS), "replicasets"),
            rule(GET_LIST_WATCH, CORE, "replicationcontrollers"),
            rule(GET_LIST_WATCH, POLICY, "poddisruptionbudgets"),
            rule(GET_LIST_WATCH, APPS, "statefulsets"),
            rule("update", POLICY, "poddisruptionbudgets/status"),
            rule("get", "*", "*/scale"),
            ev,
        ],
        "endpoint-controller": [
            rule(GET_LIST_WATCH, CORE, ("services", "pods")),
            rule(("get", "list", "create", "update", "delete"), CORE, "endpoints"),
            rule("create", CORE, "endpoints/restricted"),
            ev,
        ],
        "endpointslice-controller": [
            rule(GET_LIST_WATCH, CORE, ("services", "pods", "nodes")),
            rule("update", CORE, "services/finalizers"),
            rule(("get", "list", "create", "update", "delete"), DISCOVERY, "endpointslices"),
            ev,
        ],
        "endpointslicemirroring-controller": [
            rule(GET_LIST_WATCH, CORE, ("services", "endpoints")),
            rule("update", CORE, "services/finalizers"),
            rule("update", CORE, "endpoints/finalizers"),
            rule(("get", "list", "create", "update", "delete"), DISCOVERY, "endpointslices"),
            ev,
        ],
        "expand-controller": [
            rule(("get", "list", "watch", "update", "patch"), CORE, "persistentvolumes"),
            rule(("update", "patch"), CORE, "persistentvolumeclaims/status"),
            rule(GET_LIST_WATCH, CORE, "persistentvolumeclaims"),
            rule(GET_LIST_WATCH, STORAGE, "storageclasses"),
            rule("get", CORE, ("services", "endpoints")),
            rule("get", CORE, "secrets"),
            ev,
        ],
        "ephemeral-volume-controller": [
            rule(GET_LIST_WATCH, CORE, "pods"),
            rule("update", CORE, "pods/finalizers"),
            rule(("get", "list", "watch", "create"), CORE, "persistentvolumeclaims"),
            ev,
        ],
        "generic-garbage-collector": [
            rule(("get", "list", "watch", "patch", "update", "delete"), "*", "*"),
            ev,
        ],
        "horizontal-pod-autoscaler": [
            rule(GET_LIST_WATCH, AUTOSCALING, "horizontalpodautoscalers"),
            rule("update", AUTOSCALING, "horizontalpodautoscalers/status"),
            rule(("get", "update"), "*", "*/scale"),
            rule("list", CORE, "pods"),
            rule("get", CORE, "services/proxy", names=("https:heapster:", "http:heapster:")),
            rule("list", "metrics.k8s.io", "pods"),
            rule(("get", "list"), "custom.metrics.k8s.io", "*"),
            rule(("get", "list"), "external.metrics.k8s.io", "*"),
            ev,
        ],
        "job-controller": [
            rule(("get", "list", "watch", "update", "patch"), BATCH, "jobs"),
            rule("update", BATCH, "jobs/status"),
            rule("update", BATCH, "jobs/finalizers"),
            rule(("list", "watch", "create", "delete", "patch"), CORE, "pods"),
            ev,
        ],
        "namespace-controller": [
            rule(("get", "list", "watch", "delete"), CORE, "namespaces"),
            rule("update", CORE, ("namespaces/finalize", "namespaces/status")),
            rule(("get", "list", "delete", "deletecollection"), "*", "*"),
        ],
        "node-controller": [
            rule(("get", "list", "update", "delete", "patch"), CORE, "nodes"),
            rule(("patch", "update"), CORE, "nodes/status"),
            rule("update", CORE, "pods/status"),
            rule(("list", "delete"), CORE, "pods"),
            ev,
            rule("get", CORE, "pods"),
            rule("patch", CORE, "pods/status"),
        ],
        "persistent-volume-binder": [
            rule(("get", "list", "watch", "update", "create", "delete"), CORE, "persistentvolumes"),
            rule("update", CORE, "persistentvolumes/status"),
            rule(("get", "list", "watch", "update"), CORE, "persistentvolumeclaims"),
            rule("update", CORE, "persistentvolumeclaims/status"),
            rule(("list", "watch", "get", "create", "delete"), CORE, "pods"),
            rule(GET_LIST_WATCH, STORAGE, "storageclasses"),
            rule(("get", "create", "update", "delete"), CORE, "endpoints"),
            rule(("get", "create", "delete"), CORE, "services"),
            rule("get", CORE, "secrets"),
            rule(("get", "list"), CORE, "nodes"),
            rule("watch", CORE, "events"),
            ev,
        ],
        "pod-garbage-collector": [
            rule(("list", "watch", "delete"), CORE, "pods"),
            rule(("get", "list"), CORE, "nodes"),
            rule("patch", CORE, "pods/status"),
        ],
        "replicaset-controller": [
            rule(("get", "list", "watch", "update"), (APPS, EXTENSIONS), "replicasets"),
            rule("update", (APPS, EXTENSIONS), "replicasets/status"),
            rule("update", (APPS, EXTENSIONS), "replicasets/finalizers"),
            rule(("list", "watch", "patch", "create", "delete"), CORE, "pods"),
            ev,
        ],
        "replication-controller": [
            rule(("get", "list", "watch", "update"), CORE, "replicationcontrollers"),
            rule("update", CORE, "replicationcontrollers/status"),
            rule("update", CORE, "replicationcontrollers/finalizers"),
            rule(("list", "watch", "patch", "create", "delete"), CORE, "pods"),
            ev,
        ],
        "resourcequota-controller": [
            rule(("list", "watch"), "*", "*"),
            rule("update", CORE, "resourcequotas/status"),
            ev,
        ],
        "route-controller": [
            rule(("list", "watch"), CORE, "nodes"),
            rule("patch", CORE, "nodes/status"),
            ev,
        ],
        "service-account-controller": [
            rule("create", CORE, "serviceaccounts"),
            ev,
        ],
        "service-controller": [
            rule(GET_LIST_WATCH, CORE, "services"),
            rule(("patch", "update"), CORE, "services/status"),
            rule(("list", "watch"), CORE, "nodes"),
            ev,
        ],
        "statefulset-controller": [
            rule(("list", "watch"), CORE, "pods"),
            rule(GET_LIST_WATCH, APPS, "statefulsets"),
            rule("update", APPS, "statefulsets/status"),
            rule("update", APPS, "statefulsets/finalizers"),
            rule(("get", "create", "delete", "update", "patch"), CORE, "pods"),
            rule(("get", "create", "delete", "update", "patch", "list", "watch"), APPS, "controllerrevisions"),
            rule(("get", "create"), CORE, "persistentvolumeclaims"),
            ev,
            rule("update", CORE, "persistentvolumeclaims"),
        ],
        "ttl-controller": [
            rule(("update", "patch", "list", "watch"), CORE, "nodes"),
            ev,
        ],
        "certificate-controller": [
            rule(("get", "list", "watch", "delete"), CERTS, "certificatesigningrequests"),
            rule("update", CERTS, ("certificatesigningrequests/status", "certificatesigningrequests/approval")),
            # pyk8s also approves kubelets' own serving requests (controllers/csrapproving.py), checked against
            # the Node's addresses: upstream approves no kubelet-serving request.
            rule("approve", CERTS, "signers", names=(APISERVER_CLIENT_KUBELET_SIGNER, KUBELET_SERVING_SIGNER)),
            rule(("list", "watch"), CORE, "nodes"),
            rule("sign", CERTS, "signers", names=(LEGACY_UNKNOWN_SIGNER, APISERVER_CLIENT_SIGNER,
                                                   APISERVER_CLIENT_KUBELET_SIGNER, KUBELET_SERVING_SIGNER)),
            rule("create", AUTHZ, "subjectaccessreviews"),
            ev,
        ],
        "pvc-protection-controller": [
            rule(("get", "list", "watch", "update"), CORE, "persistentvolumeclaims"),
            rule(("list", "watch", "get"), CORE, "pods"),
            ev,
        ],
        "pv-protection-controller": [
            rule(("get", "list", "watch", "update"), CORE, "persistentvolumes"),
            ev,
        ],
        "ttl-after-finished-controller": [
            rule(("get", "list", "watch", "delete"), BATCH, "jobs"),
            ev,
        ],
        "root-ca-cert-publisher": [
            rule(("create", "update"), CORE, "configmaps"),
            ev,
        ],
        # pyk8s's own: the local-path provisioner (k3s's) makes and removes hostPath volumes for claims.
        "local-path-provisioner": [
            rule(("get", "list", "watch", "create", "delete", "update", "patch"), CORE, "persistentvolumes"),
            rule(("get", "list", "watch", "update", "patch"), CORE, "persistentvolumeclaims"),
            rule(GET_LIST_WATCH, STORAGE, "storageclasses"),
            rule(GET_LIST_WATCH, CORE, "nodes"),
            rule(("get", "list", "watch", "create", "delete"), CORE, "pods"),
            rule(("get", "list", "watch", "update", "patch"), COORD, "leases"),
            ev,
        ],
    }


#: Where a pyk8s controller writes with another verb than upstream's (recorded, so the role stays honest).
PYK8S_EXTRA: dict[str, list[Obj]] = {
    # The revision annotation is written with a merge patch (upstream updates the whole Deployment).
    "deployment-controller": [rule("patch", (APPS, EXTENSIONS), "deployments")],
}


def controller_roles() -> list[Obj]:
    return [cluster_role(CONTROLLER_PREFIX + name, rules + PYK8S_EXTRA.get(name, []))
            for name, rules in _roles().items()]


def controller_role_bindings() -> list[Obj]:
    return [cluster_binding(CONTROLLER_PREFIX + name, [subject("ServiceAccount", name, "kube-system")])
            for name in _roles()]


__all__ = ["controller_role_bindings", "controller_roles"]
