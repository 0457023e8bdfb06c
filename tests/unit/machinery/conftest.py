"""A small private schema registry shaped like the real Deployment/Service types."""

import pytest

from pyk8s.machinery.schema import (
    BOOL,
    INT32,
    STRING,
    STRING_LIST,
    STRING_MAP,
    TIME,
    AnyValue,
    ArrayOf,
    Field,
    IntOrString,
    MapOf,
    ObjectSchema,
    Quantity,
    Ref,
    SchemaRegistry,
)

P = "io.test."


def build_registry() -> SchemaRegistry:
    reg = SchemaRegistry()

    def add(name, fields, **kw):
        reg.add(ObjectSchema(P + name, f"The {name} type.", fields, **kw))

    add("ObjectMeta", [
        Field("name", STRING, "Name.", proto=1),
        Field("generateName", STRING, proto=2),
        Field("namespace", STRING, proto=3),
        Field("uid", STRING, proto=5),
        Field("resourceVersion", STRING, proto=6),
        Field("creationTimestamp", TIME, proto=8),
        Field("labels", STRING_MAP, "Labels.", proto=11),
        Field("annotations", STRING_MAP, proto=12),
        Field("ownerReferences", ArrayOf(Ref(P + "OwnerReference")), merge_key="uid", strategy="merge",
              list_type="map", list_map_keys=("uid",), proto=13),
        Field("finalizers", STRING_LIST, strategy="merge", list_type="set", proto=14),
        Field("managedFields", ArrayOf(AnyValue()), proto=17),
    ])
    add("OwnerReference", [Field("uid", STRING, proto=4), Field("name", STRING, proto=3),
                           Field("kind", STRING, proto=1), Field("controller", BOOL, proto=6)])
    add("Deployment", [
        Field("apiVersion", STRING), Field("kind", STRING),
        Field("metadata", Ref(P + "ObjectMeta"), proto=1),
        Field("spec", Ref(P + "DeploymentSpec"), "Spec.", proto=2),
        Field("status", Ref(P + "DeploymentStatus"), proto=3),
    ], gvk=("apps", "v1", "Deployment"))
    add("DeploymentSpec", [
        Field("replicas", INT32, "Replicas.", proto=1),
        Field("selector", Ref(P + "LabelSelector"), required=True, proto=2),
        Field("template", Ref(P + "PodTemplateSpec"), required=True, proto=3),
        Field("strategy", Ref(P + "DeploymentStrategy"), strategy="retainKeys", proto=4),
        Field("paused", BOOL, proto=7),
    ])
    add("DeploymentStatus", [
        Field("replicas", INT32, proto=2),
        Field("conditions", ArrayOf(Ref(P + "Condition")), merge_key="type", strategy="merge",
              list_type="map", list_map_keys=("type",), proto=6),
    ])
    add("Condition", [Field("type", STRING, proto=1), Field("status", STRING, proto=2)])
    add("DeploymentStrategy", [Field("type", STRING, proto=1),
                               Field("rollingUpdate", Ref(P + "RollingUpdate"), proto=2)])
    add("RollingUpdate", [Field("maxUnavailable", IntOrString(), proto=1), Field("maxSurge", IntOrString(), proto=2)])
    add("LabelSelector", [Field("matchLabels", STRING_MAP, proto=1),
                          Field("matchExpressions", ArrayOf(Ref(P + "LabelSelectorRequirement")), proto=2)])
    add("LabelSelectorRequirement", [Field("key", STRING, proto=1), Field("operator", STRING, proto=2),
                                     Field("values", STRING_LIST, proto=3)])
    add("PodTemplateSpec", [Field("metadata", Ref(P + "ObjectMeta"), proto=1),
                            Field("spec", Ref(P + "PodSpec"), proto=2)])
    add("PodSpec", [
        Field("containers", ArrayOf(Ref(P + "Container")), "Containers.", required=True, merge_key="name",
              strategy="merge", list_type="map", list_map_keys=("name",), proto=2),
        Field("volumes", ArrayOf(Ref(P + "Volume")), merge_key="name", strategy="merge,retainKeys",
              list_type="map", list_map_keys=("name",), proto=1),
        Field("tolerations", ArrayOf(Ref(P + "Toleration")), list_type="atomic", proto=22),
        Field("nodeSelector", STRING_MAP, proto=7),
        Field("restartPolicy", STRING, proto=3),
    ])
    add("Toleration", [Field("key", STRING, proto=1), Field("operator", STRING, proto=2)])
    add("Volume", [Field("name", STRING, proto=1), Field("emptyDir", Ref(P + "EmptyDir")),
                   Field("configMap", Ref(P + "ConfigMapVolume"))])
    add("EmptyDir", [Field("medium", STRING, proto=1)])
    add("ConfigMapVolume", [Field("name", STRING, proto=1)])
    add("Container", [
        Field("name", STRING, "Name.", required=True, proto=1),
        Field("image", STRING, "Image.", proto=2),
        Field("command", STRING_LIST, proto=3),
        Field("args", STRING_LIST, proto=4),
        Field("ports", ArrayOf(Ref(P + "ContainerPort")), merge_key="containerPort", strategy="merge",
              list_type="map", list_map_keys=("containerPort", "protocol"), proto=6),
        Field("env", ArrayOf(Ref(P + "EnvVar")), merge_key="name", strategy="merge", list_type="map",
              list_map_keys=("name",), proto=7),
        Field("resources", Ref(P + "Resources"), proto=8),
    ])
    add("Resources", [Field("limits", MapOf(Quantity()), proto=1), Field("requests", MapOf(Quantity()), proto=2)])
    add("ContainerPort", [Field("name", STRING, proto=1), Field("containerPort", INT32, required=True, proto=3),
                          Field("protocol", STRING, proto=4)])
    add("EnvVar", [Field("name", STRING, proto=1), Field("value", STRING, proto=2)])
    add("Free", [Field("spec", AnyValue(), proto=2), Field("metadata", Ref(P + "ObjectMeta"), proto=1)],
        gvk=("x", "v1", "Free"))
    add("Open", [Field("metadata", Ref(P + "ObjectMeta"), proto=1), Field("a", STRING, proto=2)],
        preserve_unknown_fields=True, gvk=("x", "v1", "Open"))
    return reg


@pytest.fixture
def registry() -> SchemaRegistry:
    return build_registry()
