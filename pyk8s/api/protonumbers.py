"""Protobuf field numbers of the kinds kubectl sends as protobuf.

kubectl's typed clients (``create <kind>`` generators, ``auth can-i``,
``auth whoami``, ``create token``) encode request bodies with the messages of
k8s.io/api ``generated.proto``.  ``pyk8s.machinery.protobuf`` decodes them
generically; this table tells it which JSON field each number is.  Numbers
here take precedence over ``Field.proto`` in the schemas.  A tuple
``(outer, inner)`` marks a Go struct that JSON inlines but protobuf nests
(``IngressRule.http`` lives in ``ingressRuleValue = 2``, field 1).

Importing this module registers the table.
"""

from __future__ import annotations

from pyk8s.machinery.protobuf import NumberSpec, register_numbers

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."
BATCH = "io.k8s.api.batch.v1."
RBAC = "io.k8s.api.rbac.v1."
NET = "io.k8s.api.networking.v1."
POLICY = "io.k8s.api.policy.v1."
SCHED = "io.k8s.api.scheduling.v1."
AUTHZ = "io.k8s.api.authorization.v1."
AUTHN = "io.k8s.api.authentication.v1."

# Most top-level kinds are {metadata 1, spec 2, status 3}.
_OBJ = {"metadata": 1, "spec": 2, "status": 3}

NUMBERS: dict[str, dict[str, NumberSpec]] = {
    # ---- meta/v1
    META + "ObjectMeta": {
        "name": 1, "generateName": 2, "namespace": 3, "selfLink": 4, "uid": 5, "resourceVersion": 6,
        "generation": 7, "creationTimestamp": 8, "deletionTimestamp": 9, "deletionGracePeriodSeconds": 10,
        "labels": 11, "annotations": 12, "ownerReferences": 13, "finalizers": 14, "managedFields": 17,
    },
    META + "OwnerReference": {"kind": 1, "name": 3, "uid": 4, "apiVersion": 5, "controller": 6,
                              "blockOwnerDeletion": 7},
    META + "LabelSelector": {"matchLabels": 1, "matchExpressions": 2},
    META + "LabelSelectorRequirement": {"key": 1, "operator": 2, "values": 3},
    META + "ManagedFieldsEntry": {"manager": 1, "operation": 2, "apiVersion": 3, "time": 4, "fieldsType": 6,
                                  "fieldsV1": 7, "subresource": 8},
    # ---- core/v1
    CORE + "ConfigMap": {"metadata": 1, "data": 2, "binaryData": 3, "immutable": 4},
    CORE + "Secret": {"metadata": 1, "data": 2, "type": 3, "stringData": 4, "immutable": 5},
    CORE + "Namespace": dict(_OBJ),
    CORE + "NamespaceSpec": {"finalizers": 1},
    CORE + "ServiceAccount": {"metadata": 1, "secrets": 2, "imagePullSecrets": 3, "automountServiceAccountToken": 4},
    CORE + "ObjectReference": {"kind": 1, "namespace": 2, "name": 3, "uid": 4, "apiVersion": 5,
                               "resourceVersion": 6, "fieldPath": 7},
    CORE + "LocalObjectReference": {"name": 1},
    CORE + "Service": dict(_OBJ),
    CORE + "ServiceSpec": {
        "ports": 1, "selector": 2, "clusterIP": 3, "type": 4, "externalIPs": 5, "sessionAffinity": 7,
        "loadBalancerIP": 8, "loadBalancerSourceRanges": 9, "externalName": 10, "externalTrafficPolicy": 11,
        "healthCheckNodePort": 12, "publishNotReadyAddresses": 13, "sessionAffinityConfig": 14,
        "ipFamilyPolicy": 17, "clusterIPs": 18, "ipFamilies": 19, "allocateLoadBalancerNodePorts": 20,
        "loadBalancerClass": 21, "internalTrafficPolicy": 22, "trafficDistribution": 23,
    },
    CORE + "ServicePort": {"name": 1, "protocol": 2, "port": 3, "targetPort": 4, "nodePort": 5, "appProtocol": 6},
    CORE + "PodTemplateSpec": {"metadata": 1, "spec": 2},
    CORE + "PodSpec": {
        "volumes": 1, "containers": 2, "restartPolicy": 3, "terminationGracePeriodSeconds": 4,
        "activeDeadlineSeconds": 5, "dnsPolicy": 6, "nodeSelector": 7, "serviceAccountName": 8,
        "serviceAccount": 9, "nodeName": 10, "hostNetwork": 11, "hostPID": 12, "hostIPC": 13,
        "securityContext": 14, "imagePullSecrets": 15, "hostname": 16, "subdomain": 17, "affinity": 18,
        "schedulerName": 19, "initContainers": 20, "automountServiceAccountToken": 21, "tolerations": 22,
        "hostAliases": 23, "priorityClassName": 24, "priority": 25, "dnsConfig": 26,
        "shareProcessNamespace": 27, "readinessGates": 28, "runtimeClassName": 29, "enableServiceLinks": 30,
        "preemptionPolicy": 31, "overhead": 32, "topologySpreadConstraints": 33, "ephemeralContainers": 34,
        "setHostnameAsFQDN": 35, "os": 36, "hostUsers": 37, "schedulingGates": 38, "resourceClaims": 39,
        "resources": 40,
    },
    CORE + "Container": {
        "name": 1, "image": 2, "command": 3, "args": 4, "workingDir": 5, "ports": 6, "env": 7, "resources": 8,
        "volumeMounts": 9, "livenessProbe": 10, "readinessProbe": 11, "lifecycle": 12,
        "terminationMessagePath": 13, "imagePullPolicy": 14, "securityContext": 15, "stdin": 16,
        "stdinOnce": 17, "tty": 18, "envFrom": 19, "terminationMessagePolicy": 20, "volumeDevices": 21,
        "startupProbe": 22, "resizePolicy": 23, "restartPolicy": 24,
    },
    CORE + "ContainerPort": {"name": 1, "hostPort": 2, "containerPort": 3, "protocol": 4, "hostIP": 5},
    CORE + "EnvVar": {"name": 1, "value": 2, "valueFrom": 3},
    CORE + "EnvVarSource": {"fieldRef": 1, "resourceFieldRef": 2, "configMapKeyRef": 3, "secretKeyRef": 4},
    CORE + "ObjectFieldSelector": {"apiVersion": 1, "fieldPath": 2},
    CORE + "ConfigMapKeySelector": {"name": (1, 1), "key": 2, "optional": 3},
    CORE + "SecretKeySelector": {"name": (1, 1), "key": 2, "optional": 3},
    CORE + "EnvFromSource": {"prefix": 1, "configMapRef": 2, "secretRef": 3},
    CORE + "ConfigMapEnvSource": {"name": (1, 1), "optional": 2},
    CORE + "SecretEnvSource": {"name": (1, 1), "optional": 2},
    CORE + "ResourceRequirements": {"limits": 1, "requests": 2, "claims": 3},
    CORE + "VolumeMount": {"name": 1, "readOnly": 2, "mountPath": 3, "subPath": 4, "mountPropagation": 5,
                           "subPathExpr": 6, "recursiveReadOnly": 7},
    CORE + "ResourceQuota": dict(_OBJ),
    CORE + "ResourceQuotaSpec": {"hard": 1, "scopes": 2, "scopeSelector": 3},
    CORE + "ScopeSelector": {"matchExpressions": 1},
    CORE + "ScopedResourceSelectorRequirement": {"scopeName": 1, "operator": 2, "values": 3},
    CORE + "Toleration": {"key": 1, "operator": 2, "value": 3, "effect": 4, "tolerationSeconds": 5},
    # ---- apps/v1
    APPS + "Deployment": dict(_OBJ),
    APPS + "DeploymentSpec": {"replicas": 1, "selector": 2, "template": 3, "strategy": 4, "minReadySeconds": 5,
                              "revisionHistoryLimit": 6, "paused": 7, "progressDeadlineSeconds": 9},
    APPS + "DeploymentStrategy": {"type": 1, "rollingUpdate": 2},
    APPS + "RollingUpdateDeployment": {"maxUnavailable": 1, "maxSurge": 2},
    # ---- batch/v1
    BATCH + "Job": dict(_OBJ),
    BATCH + "JobSpec": {
        "parallelism": 1, "completions": 2, "activeDeadlineSeconds": 3, "selector": 4, "manualSelector": 5,
        "template": 6, "backoffLimit": 7, "ttlSecondsAfterFinished": 8, "completionMode": 9, "suspend": 10,
        "podFailurePolicy": 11, "backoffLimitPerIndex": 12, "maxFailedIndexes": 13,
        "podReplacementPolicy": 14, "managedBy": 15, "successPolicy": 16,
    },
    BATCH + "CronJob": dict(_OBJ),
    BATCH + "CronJobSpec": {"schedule": 1, "startingDeadlineSeconds": 2, "concurrencyPolicy": 3, "suspend": 4,
                            "jobTemplate": 5, "successfulJobsHistoryLimit": 6, "failedJobsHistoryLimit": 7,
                            "timeZone": 8},
    BATCH + "JobTemplateSpec": {"metadata": 1, "spec": 2},
    # ---- rbac/v1
    RBAC + "Role": {"metadata": 1, "rules": 2},
    RBAC + "ClusterRole": {"metadata": 1, "rules": 2, "aggregationRule": 3},
    RBAC + "PolicyRule": {"verbs": 1, "apiGroups": 2, "resources": 3, "resourceNames": 4, "nonResourceURLs": 5},
    RBAC + "AggregationRule": {"clusterRoleSelectors": 1},
    RBAC + "RoleBinding": {"metadata": 1, "subjects": 2, "roleRef": 3},
    RBAC + "ClusterRoleBinding": {"metadata": 1, "subjects": 2, "roleRef": 3},
    RBAC + "Subject": {"kind": 1, "apiGroup": 2, "name": 3, "namespace": 4},
    RBAC + "RoleRef": {"apiGroup": 1, "kind": 2, "name": 3},
    # ---- policy/v1, scheduling/v1
    POLICY + "PodDisruptionBudget": dict(_OBJ),
    POLICY + "PodDisruptionBudgetSpec": {"minAvailable": 1, "selector": 2, "maxUnavailable": 3,
                                         "unhealthyPodEvictionPolicy": 4},
    SCHED + "PriorityClass": {"metadata": 1, "value": 2, "globalDefault": 3, "description": 4,
                              "preemptionPolicy": 5},
    # ---- networking/v1
    NET + "Ingress": dict(_OBJ),
    NET + "IngressSpec": {"defaultBackend": 1, "tls": 2, "rules": 3, "ingressClassName": 4},
    NET + "IngressBackend": {"resource": 3, "service": 4},
    NET + "IngressServiceBackend": {"name": 1, "port": 2},
    NET + "ServiceBackendPort": {"name": 1, "number": 2},
    NET + "IngressTLS": {"hosts": 1, "secretName": 2},
    NET + "IngressRule": {"host": 1, "http": (2, 1)},
    NET + "HTTPIngressRuleValue": {"paths": 1},
    NET + "HTTPIngressPath": {"path": 1, "backend": 2, "pathType": 3},
    CORE + "TypedLocalObjectReference": {"apiGroup": 1, "kind": 2, "name": 3},
    # ---- authorization/v1
    AUTHZ + "SelfSubjectAccessReview": dict(_OBJ),
    AUTHZ + "SelfSubjectAccessReviewSpec": {"resourceAttributes": 1, "nonResourceAttributes": 2},
    AUTHZ + "ResourceAttributes": {"namespace": 1, "verb": 2, "group": 3, "version": 4, "resource": 5,
                                   "subresource": 6, "name": 7, "fieldSelector": 8, "labelSelector": 9},
    AUTHZ + "NonResourceAttributes": {"path": 1, "verb": 2},
    AUTHZ + "SelfSubjectRulesReview": dict(_OBJ),
    AUTHZ + "SelfSubjectRulesReviewSpec": {"namespace": 1},
    # ---- authentication/v1
    AUTHN + "SelfSubjectReview": {"metadata": 1, "status": 2},
    AUTHN + "TokenRequest": dict(_OBJ),
    AUTHN + "TokenRequestSpec": {"audiences": 1, "expirationSeconds": 4, "boundObjectRef": 3},
    AUTHN + "BoundObjectReference": {"kind": 1, "apiVersion": 2, "name": 3, "uid": 4},
}

#: Pointer fields whose false/0/"" is meaningful and must survive decoding.
KEEP_ZERO_NAMES = {
    "automountServiceAccountToken", "immutable", "allowPrivilegeEscalation", "readOnlyRootFilesystem",
    "runAsNonRoot", "privileged", "setHostnameAsFQDN", "enableServiceLinks", "suspend", "manualSelector",
    "shareProcessNamespace", "hostUsers", "allocateLoadBalancerNodePorts", "controller", "blockOwnerDeletion",
    "optional", "storageClassName",
}

#: Non-pointer integers Go always encodes but JSON omits at zero.
OMIT_ZERO_INT_NAMES = {"generation", "hostPort", "nodePort", "minReadySeconds", "healthCheckNodePort"}

register_numbers(NUMBERS, keep_zero_names=KEEP_ZERO_NAMES, omit_zero_int_names=OMIT_ZERO_INT_NAMES)

# core/v1 in full, the option types clients send (DeleteOptions, Eviction) and apiextensions.k8s.io/v1 (CRDs),
# transcribed from generated.proto; they register on import and override entries above.
from pyk8s.api import protonumbers_apiextensions, protonumbers_core  # noqa: E402,F401
