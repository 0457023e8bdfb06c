"""apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision.

Schemas carry the protobuf field numbers of k8s.io/api (kubectl's typed
clients send protobuf bodies) and the patch metadata strategic merge patch
needs (``spec.strategy`` retains keys, conditions merge by type).  Defaulting,
validation and strategies live in ``apps_v1_strategy`` so this module stays a
readable catalogue of fields.
"""

from __future__ import annotations

from pyk8s.api import apps_v1_strategy as strategy
from pyk8s.api.kinds import (
    LABEL_SELECTOR,
    POD_TEMPLATE_SPEC,
    PVC,
    conditions_field,
    define_kind,
    register,
)
from pyk8s.machinery.schema import (
    BOOL,
    INT32,
    INT64,
    STRING,
    TIME,
    AnyValue,
    ArrayOf,
    Field,
    IntOrString,
    Ref,
    define,
)

P = "io.k8s.api.apps.v1"
GV = ("apps", "v1")


def _condition(kind: str, *, last_update: bool = False) -> str:
    fields = [
        Field("type", STRING, f"Which aspect of the {kind} this condition reports.", required=True, proto=1),
        Field("status", STRING, "True, False or Unknown.", required=True, proto=2),
    ]
    if last_update:
        fields += [
            Field("lastUpdateTime", TIME, "When the condition was last refreshed.", proto=6),
            Field("lastTransitionTime", TIME, "When the status last changed.", proto=7),
        ]
    else:
        fields.append(Field("lastTransitionTime", TIME, "When the status last changed.", proto=3))
    fields += [
        Field("reason", STRING, "Machine-readable cause of the last transition.", proto=4),
        Field("message", STRING, "Human-readable detail of the last transition.", proto=5),
    ]
    define(f"{P}.{kind}Condition", f"One observed state of a {kind}.", fields)
    return f"{P}.{kind}Condition"


_SELECTOR = Field("selector", Ref(LABEL_SELECTOR), "Which pods belong to this object; must match the template labels.",
                  required=True, proto=2)

# ---------------------------------------------------------------- Deployment

define(f"{P}.RollingUpdateDeployment", "Limits for a rolling update of a Deployment.", [
    Field("maxUnavailable", IntOrString(), "How many pods (or what percent) may be unavailable during the update.",
          proto=1),
    Field("maxSurge", IntOrString(), "How many pods (or what percent) may exist above the desired count.", proto=2),
])
define(f"{P}.DeploymentStrategy", "How a Deployment replaces old pods.", [
    Field("type", STRING, "Recreate or RollingUpdate.", proto=1),
    Field("rollingUpdate", Ref(f"{P}.RollingUpdateDeployment"), "Parameters when type is RollingUpdate.", proto=2),
])
define(f"{P}.DeploymentSpec", "Desired state of a Deployment.", [
    Field("replicas", INT32, "Desired number of pods.", proto=1),
    _SELECTOR,
    Field("template", Ref(POD_TEMPLATE_SPEC), "The pods to create.", required=True, proto=3),
    Field("strategy", Ref(f"{P}.DeploymentStrategy"), "How to replace old pods with new ones.",
          strategy="retainKeys", proto=4),
    Field("minReadySeconds", INT32, "Seconds a new pod must be ready before it counts as available.", proto=5),
    Field("revisionHistoryLimit", INT32, "Old ReplicaSets kept for rollback.", proto=6),
    Field("paused", BOOL, "Stop rolling out template changes.", proto=7),
    Field("progressDeadlineSeconds", INT32, "Seconds without progress before the rollout is reported failed.",
          proto=9),
])
define(f"{P}.DeploymentStatus", "Observed state of a Deployment.", [
    Field("observedGeneration", INT64, "Generation the controller last acted on.", proto=1),
    Field("replicas", INT32, "Pods selected by this Deployment.", proto=2),
    Field("updatedReplicas", INT32, "Pods running the current template.", proto=3),
    Field("readyReplicas", INT32, "Pods that are ready.", proto=7),
    Field("availableReplicas", INT32, "Pods ready for at least minReadySeconds.", proto=4),
    Field("unavailableReplicas", INT32, "Pods still needed for full availability.", proto=5),
    conditions_field(_condition("Deployment", last_update=True), 6),
    Field("collisionCount", INT32, "Hash collisions seen when naming ReplicaSets.", proto=8),
])
DEPLOYMENT = define_kind(P, "Deployment", GV, "Declarative updates for a set of identical pods.", [
    Field("spec", Ref(f"{P}.DeploymentSpec"), "Desired state.", proto=2),
    Field("status", Ref(f"{P}.DeploymentStatus"), "Observed state.", proto=3),
])

# ---------------------------------------------------------------- ReplicaSet

define(f"{P}.ReplicaSetSpec", "Desired state of a ReplicaSet.", [
    Field("replicas", INT32, "Desired number of pods.", proto=1),
    Field("minReadySeconds", INT32, "Seconds a new pod must be ready before it counts as available.", proto=4),
    _SELECTOR,
    Field("template", Ref(POD_TEMPLATE_SPEC), "The pods to create.", proto=3),
])
define(f"{P}.ReplicaSetStatus", "Observed state of a ReplicaSet.", [
    Field("replicas", INT32, "Pods currently selected.", required=True, proto=1),
    Field("fullyLabeledReplicas", INT32, "Pods whose labels match the template labels.", proto=2),
    Field("readyReplicas", INT32, "Pods that are ready.", proto=4),
    Field("availableReplicas", INT32, "Pods ready for at least minReadySeconds.", proto=5),
    Field("observedGeneration", INT64, "Generation the controller last acted on.", proto=3),
    conditions_field(_condition("ReplicaSet"), 6),
])
REPLICA_SET = define_kind(P, "ReplicaSet", GV, "Keeps a given number of identical pods running.", [
    Field("spec", Ref(f"{P}.ReplicaSetSpec"), "Desired state.", proto=2),
    Field("status", Ref(f"{P}.ReplicaSetStatus"), "Observed state.", proto=3),
])

# ---------------------------------------------------------------- StatefulSet

define(f"{P}.RollingUpdateStatefulSetStrategy", "Parameters of a StatefulSet rolling update.", [
    Field("partition", INT32, "Ordinals below this one are left on the old revision.", proto=1),
    Field("maxUnavailable", IntOrString(), "Pods that may be down at once during the update (alpha).", proto=2),
])
define(f"{P}.StatefulSetUpdateStrategy", "How a StatefulSet rolls out template changes.", [
    Field("type", STRING, "RollingUpdate or OnDelete.", proto=1),
    Field("rollingUpdate", Ref(f"{P}.RollingUpdateStatefulSetStrategy"), "Parameters for RollingUpdate.", proto=2),
])
define(f"{P}.StatefulSetPersistentVolumeClaimRetentionPolicy", "What happens to claims made from the templates.", [
    Field("whenDeleted", STRING, "Retain or Delete the claims when the StatefulSet is deleted.", proto=1),
    Field("whenScaled", STRING, "Retain or Delete the claims of pods removed by a scale-down.", proto=2),
])
define(f"{P}.StatefulSetOrdinals", "Numbering of the pods of a StatefulSet.", [
    Field("start", INT32, "Index of the first pod (default 0).", proto=1),
])
define(f"{P}.StatefulSetSpec", "Desired state of a StatefulSet.", [
    Field("replicas", INT32, "Desired number of pods.", proto=1),
    _SELECTOR,
    Field("template", Ref(POD_TEMPLATE_SPEC), "The pods to create; each gets a stable identity.", required=True,
          proto=3),
    Field("volumeClaimTemplates", ArrayOf(Ref(PVC)), "Claims each pod gets, matched to volume mounts by name.",
          list_type="atomic", proto=4),
    Field("serviceName", STRING, "Headless service that gives the pods their DNS names.", proto=5),
    Field("podManagementPolicy", STRING, "OrderedReady or Parallel.", proto=6),
    Field("updateStrategy", Ref(f"{P}.StatefulSetUpdateStrategy"), "How to roll out template changes.", proto=7),
    Field("revisionHistoryLimit", INT32, "Old revisions kept.", proto=8),
    Field("minReadySeconds", INT32, "Seconds a new pod must be ready before it counts as available.", proto=9),
    Field("persistentVolumeClaimRetentionPolicy", Ref(f"{P}.StatefulSetPersistentVolumeClaimRetentionPolicy"),
          "Lifecycle of the claims made from volumeClaimTemplates.", proto=10),
    Field("ordinals", Ref(f"{P}.StatefulSetOrdinals"), "How pods are numbered.", proto=11),
])
define(f"{P}.StatefulSetStatus", "Observed state of a StatefulSet.", [
    Field("observedGeneration", INT64, "Generation the controller last acted on.", proto=1),
    Field("replicas", INT32, "Pods created by the controller.", required=True, proto=2),
    Field("readyReplicas", INT32, "Pods that are ready.", proto=3),
    Field("currentReplicas", INT32, "Pods at currentRevision.", proto=4),
    Field("updatedReplicas", INT32, "Pods at updateRevision.", proto=5),
    Field("currentRevision", STRING, "Revision of the pods [0, currentReplicas).", proto=6),
    Field("updateRevision", STRING, "Revision being rolled out.", proto=7),
    Field("collisionCount", INT32, "Hash collisions seen when naming revisions.", proto=9),
    conditions_field(_condition("StatefulSet"), 10),
    Field("availableReplicas", INT32, "Pods ready for at least minReadySeconds.", proto=11),
])
STATEFUL_SET = define_kind(P, "StatefulSet", GV, "Pods with stable names and storage.", [
    Field("spec", Ref(f"{P}.StatefulSetSpec"), "Desired state.", proto=2),
    Field("status", Ref(f"{P}.StatefulSetStatus"), "Observed state.", proto=3),
])

# ---------------------------------------------------------------- DaemonSet

define(f"{P}.RollingUpdateDaemonSet", "Limits for a rolling update of a DaemonSet.", [
    Field("maxUnavailable", IntOrString(), "Nodes whose pod may be down at once during the update.", proto=1),
    Field("maxSurge", IntOrString(), "Nodes that may run an old and a new pod at once.", proto=2),
])
define(f"{P}.DaemonSetUpdateStrategy", "How a DaemonSet replaces its pods.", [
    Field("type", STRING, "RollingUpdate or OnDelete.", proto=1),
    Field("rollingUpdate", Ref(f"{P}.RollingUpdateDaemonSet"), "Parameters for RollingUpdate.", proto=2),
])
define(f"{P}.DaemonSetSpec", "Desired state of a DaemonSet.", [
    Field("selector", Ref(LABEL_SELECTOR), "Which pods belong to this object; must match the template labels.",
          required=True, proto=1),
    Field("template", Ref(POD_TEMPLATE_SPEC), "The pod to run on every eligible node.", required=True, proto=2),
    Field("updateStrategy", Ref(f"{P}.DaemonSetUpdateStrategy"), "How to replace pods.", proto=3),
    Field("minReadySeconds", INT32, "Seconds a new pod must be ready before it counts as available.", proto=4),
    Field("revisionHistoryLimit", INT32, "Old revisions kept.", proto=6),
])
define(f"{P}.DaemonSetStatus", "Observed state of a DaemonSet.", [
    Field("currentNumberScheduled", INT32, "Nodes running a daemon pod that should.", required=True, proto=1),
    Field("numberMisscheduled", INT32, "Nodes running a daemon pod that should not.", required=True, proto=2),
    Field("desiredNumberScheduled", INT32, "Nodes that should run the daemon pod.", required=True, proto=3),
    Field("numberReady", INT32, "Nodes whose daemon pod is ready.", required=True, proto=4),
    Field("observedGeneration", INT64, "Generation the controller last acted on.", proto=5),
    Field("updatedNumberScheduled", INT32, "Nodes running the current template.", proto=6),
    Field("numberAvailable", INT32, "Nodes whose daemon pod is available.", proto=7),
    Field("numberUnavailable", INT32, "Nodes whose daemon pod is not available.", proto=8),
    Field("collisionCount", INT32, "Hash collisions seen when naming revisions.", proto=9),
    conditions_field(_condition("DaemonSet"), 10),
])
DAEMON_SET = define_kind(P, "DaemonSet", GV, "Runs one pod on each eligible node.", [
    Field("spec", Ref(f"{P}.DaemonSetSpec"), "Desired state.", proto=2),
    Field("status", Ref(f"{P}.DaemonSetStatus"), "Observed state.", proto=3),
])

# ---------------------------------------------------------------- ControllerRevision

CONTROLLER_REVISION = define_kind(P, "ControllerRevision", GV, "An immutable snapshot of a controller's template.", [
    Field("data", AnyValue(embedded_object=True), "The serialized state at this revision.", proto=2),
    Field("revision", INT64, "Revision number.", required=True, proto=3),
])

# ---------------------------------------------------------------- registration

register(group="apps", version="v1", kind="Deployment", plural="deployments", namespaced=True,
         strategy=strategy.DeploymentStrategy(), schema=f"{P}.Deployment", short_names=("deploy",),
         categories=("all",), subresources=("status", "scale"))
register(group="apps", version="v1", kind="ReplicaSet", plural="replicasets", namespaced=True,
         strategy=strategy.ReplicaSetStrategy(), schema=f"{P}.ReplicaSet", short_names=("rs",),
         categories=("all",), subresources=("status", "scale"))
register(group="apps", version="v1", kind="StatefulSet", plural="statefulsets", namespaced=True,
         strategy=strategy.StatefulSetStrategy(), schema=f"{P}.StatefulSet", short_names=("sts",),
         categories=("all",), subresources=("status", "scale"))
register(group="apps", version="v1", kind="DaemonSet", plural="daemonsets", namespaced=True,
         strategy=strategy.DaemonSetStrategy(), schema=f"{P}.DaemonSet", short_names=("ds",),
         categories=("all",), subresources=("status",))
register(group="apps", version="v1", kind="ControllerRevision", plural="controllerrevisions", namespaced=True,
         strategy=strategy.ControllerRevisionStrategy(), schema=f"{P}.ControllerRevision")
