"""The default RBAC policy: the roles and bindings every cluster starts with (upstream's bootstrappolicy, v1.32).

Written as data: ``rule(verbs, groups, resources)`` and ``urls(verbs, paths)``
build PolicyRule dicts; ``cluster_roles()``, ``cluster_role_bindings()``,
``namespace_roles()`` and ``namespace_role_bindings()`` return the objects,
each labelled ``kubernetes.io/bootstrapping: rbac-defaults`` and annotated
``rbac.authorization.kubernetes.io/autoupdate: "true"`` (``reconcile.py``
keeps them up to date at every start).  ``controller_roles()`` holds the
``system:controller:<name>`` roles, each bound to the ServiceAccount
``kube-system/<name>`` that the controller runs as.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAP_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
CONTROLLER_PREFIX = "system:controller:"
#: The namespaces the server makes at start (``bootstrap.SYSTEM_NAMESPACES``), each given its ``default`` account.
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
READ_WRITE = READ + WRITE
READ_UPDATE = READ + ("update", "patch")

CORE, APPS, AUTHN, AUTHZ, AUTOSCALING, BATCH = "", "apps", "authentication.k8s.io", "authorization.k8s.io", \
    "autoscaling", "batch"
CERTS, COORD, DISCOVERY, EXTENSIONS, POLICY = "certificates.k8s.io", "coordination.k8s.io", "discovery.k8s.io", \
    "extensions", "policy"
STORAGE, NETWORKING, EVENTS, NODE = "storage.k8s.io", "networking.k8s.io", "events.k8s.io", "node.k8s.io"

AGG_ADMIN = "rbac.authorization.k8s.io/aggregate-to-admin"
AGG_EDIT = "rbac.authorization.k8s.io/aggregate-to-edit"
AGG_VIEW = "rbac.authorization.k8s.io/aggregate-to-view"

LEGACY_UNKNOWN_SIGNER = "kubernetes.io/legacy-unknown"
KUBELET_SERVING_SIGNER = "kubernetes.io/kubelet-serving"
APISERVER_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"
APISERVER_CLIENT_KUBELET_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"


def rule(verbs: tuple[str, ...] | str, groups: tuple[str, ...] | str, resources: tuple[str, ...] | str,
         names: tuple[str, ...] = ()) -> Obj:
    def seq(v: tuple[str, ...] | str) -> list[str]:
        return [v] if isinstance(v, str) else list(v)

    out: Obj = {"verbs": seq(verbs), "apiGroups": seq(groups), "resources": seq(resources)}
    if names:
        out["resourceNames"] = list(names)
    return out


def urls(verbs: tuple[str, ...] | str, *paths: str) -> Obj:
    return {"verbs": [verbs] if isinstance(verbs, str) else list(verbs), "nonResourceURLs": list(paths)}


def events_rule() -> Obj:
    return rule(("create", "update", "patch"), (CORE, EVENTS), "events")


def _meta(name: str, namespace: str = "", labels: dict[str, str] | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {**(labels or {}), **BOOTSTRAP_LABEL}, "annotations": {AUTOUPDATE: "true"}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def cluster_role(name: str, rules: list[Obj], *, labels: dict[str, str] | None = None,
                 aggregate_from: str = "") -> Obj:
    role: Obj = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole", "metadata": _meta(name, labels=labels),
                 "rules": rules}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {aggregate_from: "true"}}]}
    return role


def subject(kind: str, name: str, namespace: str = "") -> Obj:
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"kind": kind, "apiGroup": RBAC_GROUP, "name": name}


def cluster_binding(name: str, subjects: list[Obj], role: str = "") -> Obj:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRoleBinding", "metadata": _meta(name),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role or name}, "subjects": subjects}


def node_rules() -> list[Obj]:
    """What a kubelet may do by rule (the ``system:node`` role; the Node authorizer narrows it)."""
    return [
        rule("create", AUTHN, "tokenreviews"),
        rule("create", AUTHZ, ("subjectaccessreviews", "localsubjectaccessreviews")),
        rule(READ, CORE, "services"),
        rule(("create", "get", "list", "watch"), CORE, "nodes"),
        rule(("update", "patch"), CORE, "nodes/status"),
        rule(("update", "patch"), CORE, "nodes"),
        rule(("create", "update", "patch"), CORE, "events"),
        rule(READ, CORE, "pods"),
        rule(("create", "delete"), CORE, "pods"),
        rule(("update", "patch"), CORE, "pods/status"),
        rule("create", CORE, "pods/eviction"),
        rule(("get", "list", "watch"), CORE, ("secrets", "configmaps")),
        rule("get", CORE, ("persistentvolumeclaims", "persistentvolumes")),
        rule("get", CORE, "endpoints"),
        rule(("create", "get", "list", "watch"), CERTS, "certificatesigningrequests"),
        rule(("get", "create", "update", "patch", "delete"), COORD, "leases"),
        rule("get", STORAGE, "volumeattachments"),
        rule("create", CORE, "serviceaccounts/token"),
        rule(("get", "update", "patch"), CORE, "persistentvolumeclaims/status"),
        rule(("get", "watch", "list"), STORAGE, "csidrivers"),
        rule(("get", "create", "update", "patch", "delete"), STORAGE, "csinodes"),
        rule(("get", "list", "watch"), NODE, "runtimeclasses"),
    ]


def _aggregate_to_edit() -> list[Obj]:
    return [
        rule(READ, CORE, ("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy")),
        rule("impersonate", CORE, "serviceaccounts"),
        rule(WRITE, CORE, ("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward")),
        rule("create", CORE, "pods/eviction"),
        rule(WRITE, CORE, ("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                           "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events")),
        rule("create", CORE, "serviceaccounts/token"),
        rule(WRITE, APPS, ("statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
                           "deployments/rollback", "replicasets", "replicasets/scale")),
        rule(WRITE, AUTOSCALING, "horizontalpodautoscalers"),
        rule(WRITE, BATCH, ("jobs", "cronjobs")),
        rule(WRITE, EXTENSIONS, ("daemonsets", "deployments", "deployments/scale", "deployments/rollback",
                                 "ingresses", "replicasets", "replicasets/scale", "replicationcontrollers/scale",
                                 "networkpolicies")),
        rule(WRITE, POLICY, "poddisruptionbudgets"),
        rule(WRITE, NETWORKING, ("networkpolicies", "ingresses")),
    ]


def _aggregate_to_view() -> list[Obj]:
    return [
        rule(READ, CORE, ("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                          "services", "services/status", "endpoints", "persistentvolumeclaims",
                          "persistentvolumeclaims/status", "configmaps")),
        rule(READ, CORE, ("limitranges", "resourcequotas", "bindings", "events", "pods/status",
                          "resourcequotas/status", "namespaces/status", "replicationcontrollers/status", "pods/log")),
        rule(READ, CORE, "namespaces"),
        rule(READ, DISCOVERY, "endpointslices"),
        rule(READ, APPS, ("controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
                          "daemonsets", "daemonsets/status", "deployments", "deployments/status",
                          "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale")),
        rule(READ, AUTOSCALING, ("horizontalpodautoscalers", "horizontalpodautoscalers/status")),
        rule(READ, BATCH, ("jobs", "cronjobs", "cronjobs/status", "jobs/status")),
        rule(READ, EXTENSIONS, ("daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                                "deployments/status", "ingresses", "ingresses/status", "replicasets",
                                "replicasets/scale", "replicasets/status", "replicationcontrollers/scale",
                                "networkpolicies")),
        rule(READ, POLICY, ("poddisruptionbudgets", "poddisruptionbudgets/status")),
        rule(READ, NETWORKING, ("networkpolicies", "ingresses", "ingresses/status")),
    ]


def _scheduler_rules() -> list[Obj]:
    return [
        events_rule(),
        rule("create", COORD, "leases"),
        rule(("get", "update"), COORD, "leases", names=("kube-scheduler",)),
        rule("create", CORE, "endpoints"),
        rule(("get", "update"), CORE, "endpoints", names=("kube-scheduler",)),
        rule(READ, CORE, "nodes"),
        rule(("get", "list", "watch", "delete"), CORE, "pods"),
        rule("create", CORE, ("pods/binding", "bindings")),
        rule(("patch", "update"), CORE, "pods/status"),
        rule(READ, CORE, ("services", "replicationcontrollers")),
        rule(READ, (APPS, EXTENSIONS), "replicasets"),
        rule(READ, APPS, "statefulsets"),
        rule(READ, POLICY, "poddisruptionbudgets"),
        rule(READ, CORE, ("persistentvolumeclaims", "persistentvolumes")),
        rule("create", AUTHN, "tokenreviews"),
        rule("create", AUTHZ, "subjectaccessreviews"),
        rule(READ, STORAGE, "csinodes"),
        rule(READ, CORE, "namespaces"),
        rule(READ, STORAGE, "csidrivers"),
        rule(READ, STORAGE, "csistoragecapacities"),
    ]


def _controller_manager_rules() -> list[Obj]:
    return [
        events_rule(),
        rule("create", COORD, "leases"),
        rule(("get", "update"), COORD, "leases", names=("kube-controller-manager",)),
        rule("create", CORE, "endpoints"),
        rule(("get", "update"), CORE, "endpoints", names=("kube-controller-manager",)),
        rule("create", CORE, ("secrets", "serviceaccounts")),
        rule("delete", CORE, "secrets"),
        rule("get", CORE, ("namespaces", "secrets", "serviceaccounts", "configmaps")),
        rule("update", CORE, ("secrets", "serviceaccounts")),
        rule("create", AUTHN, "tokenreviews"),
        rule("create", AUTHZ, "subjectaccessreviews"),
        rule(("list", "watch"), "*", "*"),
        rule("create", CORE, "serviceaccounts/token"),
    ]


def cluster_roles() -> list[Obj]:
    discovery_urls = ("/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*",
                      "/api", "/api/*", "/apis", "/apis/*")
    return [
        cluster_role("cluster-admin", [rule("*", "*", "*"), urls("*", "*")]),
        cluster_role("system:discovery", [urls("get", *discovery_urls)]),
        cluster_role("system:monitoring", [urls("get", "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz",
                                                "/livez/*", "/readyz/*", "/healthz/*")]),
        cluster_role("system:basic-user", [rule("create", AUTHZ, ("selfsubjectaccessreviews",
                                                                  "selfsubjectrulesreviews")),
                                           rule("create", AUTHN, "selfsubjectreviews")]),
        cluster_role("system:public-info-viewer", [urls("get", "/livez", "/readyz", "/healthz", "/version",
                                                        "/version/")]),
        cluster_role("admin", [], aggregate_from=AGG_ADMIN),
        cluster_role("edit", [], labels={AGG_ADMIN: "true"}, aggregate_from=AGG_EDIT),
        cluster_role("view", [], labels={AGG_EDIT: "true"}, aggregate_from=AGG_VIEW),
        cluster_role("system:aggregate-to-admin", [
            rule("create", AUTHZ, "localsubjectaccessreviews"),
            rule(READ_WRITE, RBAC_GROUP, ("roles", "rolebindings")),
        ], labels={AGG_ADMIN: "true"}),
        cluster_role("system:aggregate-to-edit", _aggregate_to_edit(), labels={AGG_EDIT: "true"}),
        cluster_role("system:aggregate-to-view", _aggregate_to_view(), labels={AGG_VIEW: "true"}),
        cluster_role("system:heapster", [rule(READ, CORE, ("events", "pods", "nodes", "namespaces")),
                                         rule(READ, EXTENSIONS, "deployments")]),
        cluster_role("system:node", node_rules()),
        cluster_role("system:node-problem-detector", [rule("get", CORE, "nodes"), rule("patch", CORE, "nodes/status"),
                                                      events_rule()]),
        cluster_role("system:kubelet-api-admin", [
            rule(("get", "list", "watch"), CORE, "nodes"),
            rule("proxy", CORE, "nodes"),
            rule("*", CORE, ("nodes/proxy", "nodes/metrics", "nodes/spec", "nodes/stats", "nodes/log")),
        ]),
        cluster_role("system:node-bootstrapper", [rule(("create", "get", "list", "watch"), CERTS,
                                                       "certificatesigningrequests")]),
        cluster_role("system:auth-delegator", [rule("create", AUTHN, "tokenreviews"),
                                               rule("create", AUTHZ, "subjectaccessreviews")]),
        cluster_role("system:kube-aggregator", [rule(READ, CORE, ("services", "endpoints"))]),
        cluster_role("system:kube-controller-manager", _controller_manager_rules()),
        cluster_role("system:kube-dns", [rule(("list", "watch"), CORE, ("endpoints", "services"))]),
        cluster_role("system:persistent-volume-provisioner", [
            rule(("get", "list", "watch", "create", "delete"), CORE, "persistentvolumes"),
            rule(("get", "list", "watch", "update"), CORE, "persistentvolumeclaims"),
            rule(READ, STORAGE, "storageclasses"),
            rule("watch", CORE, "events"),
            events_rule(),
        ]),
        cluster_role("system:certificates.k8s.io:certificatesigningrequests:nodeclient",
                     [rule("create", CERTS, "certificatesigningrequests/nodeclient")]),
        cluster_role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
                     [rule("create", CERTS, "certificatesigningrequests/selfnodeclient")]),
        cluster_role("system:volume-scheduler", [rule(READ_UPDATE, CORE, "persistentvolumes"),
                                                 rule(READ, STORAGE, "storageclasses"),
                                                 rule(READ_UPDATE, CORE, "persistentvolumeclaims")]),
        cluster_role("system:certificates.k8s.io:legacy-unknown-approver",
                     [rule("approve", CERTS, "signers", names=(LEGACY_UNKNOWN_SIGNER,))]),
        cluster_role("system:certificates.k8s.io:kubelet-serving-approver",
                     [rule("approve", CERTS, "signers", names=(KUBELET_SERVING_SIGNER,))]),
        cluster_role("system:certificates.k8s.io:kube-apiserver-client-approver",
                     [rule("approve", CERTS, "signers", names=(APISERVER_CLIENT_SIGNER,))]),
        cluster_role("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
                     [rule("approve", CERTS, "signers", names=(APISERVER_CLIENT_KUBELET_SIGNER,))]),
        cluster_role("system:service-account-issuer-discovery",
                     [urls("get", "/.well-known/openid-configuration", "/openid/v1/jwks")]),
        cluster_role("system:node-proxier", [
            rule(("list", "watch"), CORE, ("services", "endpoints")),
            rule(("get", "list", "watch"), CORE, "nodes"),
            events_rule(),
            rule(("list", "watch"), DISCOVERY, "endpointslices"),
        ]),
        cluster_role("system:kube-scheduler", _scheduler_rules()),
    ]


def cluster_role_bindings() -> list[Obj]:
    authenticated, unauthenticated = subject("Group", "system:authenticated"), subject("Group", "system:unauthenticated")
    scheduler = subject("User", "system:kube-scheduler")
    system_node = cluster_binding("system:node", [])
    del system_node["subjects"]  # bound to nothing: the Node authorizer covers kubelets
    return [
        cluster_binding("cluster-admin", [subject("Group", "system:masters")]),
        cluster_binding("system:monitoring", [subject("Group", "system:monitoring")]),
        cluster_binding("system:discovery", [authenticated]),
        cluster_binding("system:basic-user", [authenticated]),
        cluster_binding("system:public-info-viewer", [authenticated, unauthenticated]),
        cluster_binding("system:node-proxier", [subject("User", "system:kube-proxy")]),
        cluster_binding("system:kube-controller-manager", [subject("User", "system:kube-controller-manager")]),
        cluster_binding("system:kube-dns", [subject("ServiceAccount", "kube-dns", "kube-system")]),
        cluster_binding("system:kube-scheduler", [scheduler]),
        cluster_binding("system:volume-scheduler", [scheduler]),
        system_node,
        cluster_binding("system:service-account-issuer-discovery", [subject("Group", "system:serviceaccounts")]),
    ]


def namespace_roles() -> list[Obj]:
    def role(ns: str, name: str, rules: list[Obj]) -> Obj:
        return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role", "metadata": _meta(name, ns), "rules": rules}

    return [
        role("kube-system", "extension-apiserver-authentication-reader",
             [rule(READ, CORE, "configmaps", names=("extension-apiserver-authentication",))]),
        role("kube-system", "system::leader-locking-kube-controller-manager",
             [rule("watch", CORE, "configmaps"),
              rule(("get", "update"), CORE, "configmaps", names=("kube-controller-manager",))]),
        role("kube-system", "system::leader-locking-kube-scheduler",
             [rule("watch", CORE, "configmaps"),
              rule(("get", "update"), CORE, "configmaps", names=("kube-scheduler",))]),
        role("kube-system", "system:controller:bootstrap-signer",
             [rule(READ, CORE, "secrets")]),
        role("kube-system", "system:controller:token-cleaner",
             [rule(("delete", "get", "list", "watch"), CORE, "secrets"), events_rule()]),
        role("kube-public", "system:controller:bootstrap-signer",
             [rule(READ, CORE, "configmaps"),
              rule(("update", "patch"), CORE, "configmaps", names=("cluster-info",)), events_rule()]),
    ]


def namespace_role_bindings() -> list[Obj]:
    def binding(ns: str, name: str, role: str, subjects: list[Obj]) -> Obj:
        return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "RoleBinding", "metadata": _meta(name, ns),
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": role}, "subjects": subjects}

    kcm, sched = subject("User", "system:kube-controller-manager"), subject("User", "system:kube-scheduler")
    return [
        binding("kube-system", "system::extension-apiserver-authentication-reader",
                "extension-apiserver-authentication-reader", [kcm, sched]),
        binding("kube-system", "system::leader-locking-kube-controller-manager",
                "system::leader-locking-kube-controller-manager",
                [kcm, subject("ServiceAccount", "kube-controller-manager", "kube-system")]),
        binding("kube-system", "system::leader-locking-kube-scheduler", "system::leader-locking-kube-scheduler",
                [sched, subject("ServiceAccount", "kube-scheduler", "kube-system")]),
        binding("kube-system", "system:controller:bootstrap-signer", "system:controller:bootstrap-signer",
                [subject("ServiceAccount", "bootstrap-signer", "kube-system")]),
        binding("kube-system", "system:controller:token-cleaner", "system:controller:token-cleaner",
                [subject("ServiceAccount", "token-cleaner", "kube-system")]),
        binding("kube-public", "system:controller:bootstrap-signer", "system:controller:bootstrap-signer",
                [subject("ServiceAccount", "bootstrap-signer", "kube-system")]),
    ]


def all_cluster_roles() -> list[Obj]:
    from pyk8s.apiserver.authorization import addonpolicy
    from pyk8s.apiserver.authorization.controllerpolicy import controller_roles

    return cluster_roles() + controller_roles() + addonpolicy.cluster_roles()


def all_cluster_role_bindings() -> list[Obj]:
    from pyk8s.apiserver.authorization import addonpolicy
    from pyk8s.apiserver.authorization.controllerpolicy import controller_role_bindings

    return cluster_role_bindings() + controller_role_bindings() + addonpolicy.cluster_role_bindings()


def all_namespace_roles() -> list[Obj]:
    from pyk8s.apiserver.authorization import addonpolicy

    return namespace_roles() + addonpolicy.namespace_roles()


def all_namespace_role_bindings() -> list[Obj]:
    from pyk8s.apiserver.authorization import addonpolicy

    return namespace_role_bindings() + addonpolicy.namespace_role_bindings()
