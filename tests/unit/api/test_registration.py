import pyk8s.api  # noqa: F401
from pyk8s.machinery.schema import REGISTRY, ArrayOf, MapOf, Ref
from pyk8s.machinery.scheme import SCHEME


def test_core_group_first_and_kinds() -> None:
    assert SCHEME.groups()[0] == ""
    rt = SCHEME.get("", "v1", "pods")
    assert rt and rt.short_names == ("po",) and rt.categories == ("all",) and "binding" in rt.subresources
    assert SCHEME.get("", "v1", "bindings").verbs == ("create",)
    for plural, short, namespaced in [("services", "svc", True), ("nodes", "no", False), ("namespaces", "ns", False),
                                      ("configmaps", "cm", True), ("endpoints", "ep", True),
                                      ("serviceaccounts", "sa", True), ("events", "ev", True),
                                      ("persistentvolumes", "pv", False), ("persistentvolumeclaims", "pvc", True),
                                      ("limitranges", "limits", True), ("resourcequotas", "quota", True),
                                      ("replicationcontrollers", "rc", True)]:
        rt = SCHEME.get("", "v1", plural)
        assert rt is not None, plural
        assert short in rt.short_names and rt.namespaced is namespaced
        assert REGISTRY.get(rt.schema) is not None and REGISTRY.get(rt.schema).gvk == ("", "v1", rt.kind)
    assert SCHEME.get("", "v1", "secrets") and SCHEME.get("", "v1", "podtemplates")


def test_every_core_ref_resolves_and_has_description() -> None:
    def refs(t):
        if isinstance(t, Ref):
            yield t.name
        elif isinstance(t, ArrayOf):
            yield from refs(t.items)
        elif isinstance(t, MapOf):
            yield from refs(t.values)

    for schema in REGISTRY.all():
        if not schema.name.startswith(("io.k8s.api.core.v1.", "io.k8s.apimachinery.pkg.apis.meta.v1.")):
            continue
        assert schema.description, schema.name
        for f in schema.fields:
            assert f.description, (schema.name, f.name)
            for name in refs(f.type):
                assert REGISTRY.get(name) is not None, (schema.name, f.name, name)


def test_patch_metadata() -> None:
    spec = REGISTRY.get("io.k8s.api.core.v1.PodSpec")
    assert (spec.field("containers").merge_key, spec.field("containers").strategy) == ("name", "merge")
    assert spec.field("volumes").strategy == "merge,retainKeys"
    assert spec.field("tolerations").merge_key == "" and spec.field("tolerations").list_type == "atomic"
    assert spec.field("topologySpreadConstraints").list_map_keys == ("topologyKey", "whenUnsatisfiable")
    ctr = REGISTRY.get("io.k8s.api.core.v1.Container")
    assert ctr.field("ports").list_map_keys == ("containerPort", "protocol")
    assert ctr.field("volumeMounts").merge_key == "mountPath"
    svc = REGISTRY.get("io.k8s.api.core.v1.ServiceSpec")
    assert svc.field("ports").merge_key == "port" and svc.field("ports").list_map_keys == ("port", "protocol")
    meta = REGISTRY.get("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    assert meta.field("ownerReferences").merge_key == "uid" and meta.field("finalizers").strategy == "merge"
    assert REGISTRY.get("io.k8s.api.core.v1.PodTemplateSpec") is not None
    assert REGISTRY.get("io.k8s.api.core.v1.PodList").gvk == ("", "v1", "PodList")


def test_upstream_verb_exceptions() -> None:
    assert "deletecollection" not in SCHEME.get("", "v1", "namespaces").verbs
    assert SCHEME.get("", "v1", "componentstatuses").verbs == ("get", "list")
    assert "deletecollection" in SCHEME.get("", "v1", "nodes").verbs
