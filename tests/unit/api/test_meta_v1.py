from pyk8s.api import names
from pyk8s.api.meta_v1 import validate_label_selector, validate_object_meta, validate_object_meta_update


def _msgs(errs):
    return [f"{e.field}: {e.message}" for e in errs]


def test_name_required_and_namespace() -> None:
    errs = validate_object_meta({"metadata": {}}, namespaced=True)
    assert _msgs(errs) == ["metadata.name: Required value: name or generateName is required",
                           "metadata.namespace: Required value"]
    errs = validate_object_meta({"metadata": {"name": "x", "namespace": "d"}}, namespaced=False)
    assert _msgs(errs) == ["metadata.namespace: Forbidden: not allowed on this type"]


def test_invalid_name_uses_name_fn() -> None:
    errs = validate_object_meta({"metadata": {"name": "a.b", "namespace": "d"}}, namespaced=True,
                                name_fn=names.is_dns1035_label)
    assert len(errs) == 1 and errs[0].field == "metadata.name"
    assert errs[0].message.startswith('Invalid value: "a.b": a DNS-1035 label')


def test_generate_name_with_trailing_dash_ok() -> None:
    assert validate_object_meta({"metadata": {"generateName": "web-", "name": "web-abcde", "namespace": "d"}},
                                namespaced=True) == []


def test_labels_and_annotations() -> None:
    obj = {"metadata": {"name": "x", "namespace": "d", "labels": {"ok": "-bad"}, "annotations": {"a/b/c": "1"}}}
    fields = [e.field for e in validate_object_meta(obj, namespaced=True)]
    assert fields == ["metadata.labels", "metadata.annotations"]
    big = {"metadata": {"name": "x", "namespace": "d", "annotations": {"k": "v" * (256 * 1024)}}}
    assert _msgs(validate_object_meta(big, namespaced=True)) == [
        "metadata.annotations: Too long: may not be more than 262144 bytes"]


def test_update_immutable_fields() -> None:
    old = {"metadata": {"name": "x", "namespace": "d", "uid": "1", "deletionTimestamp": "t", "finalizers": ["a/b"]}}
    new = {"metadata": {"name": "y", "namespace": "d", "uid": "1", "deletionTimestamp": "t",
                        "finalizers": ["a/b", "c/d"]}}
    assert _msgs(validate_object_meta_update(new, old)) == [
        'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new '
        'finalizers []string{"c/d"}',
        'metadata.name: Invalid value: "y": field is immutable',
    ]


def test_label_selector() -> None:
    sel = {"matchExpressions": [{"key": "a", "operator": "In"}, {"key": "b", "operator": "Exists", "values": ["x"]},
                                {"key": "c", "operator": "Bogus"}]}
    assert _msgs(validate_label_selector(sel, "spec.selector")) == [
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or "
        "'NotIn'",
        "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or "
        "'DoesNotExist'",
        'spec.selector.matchExpressions[2].operator: Invalid value: "Bogus": not a valid selector operator',
    ]
    assert validate_label_selector(None, "s") == []


def test_update_tolerates_omitted_server_fields() -> None:
    old = {"metadata": {"name": "x", "namespace": "d", "uid": "1", "generation": 3,
                        "creationTimestamp": "2024-01-01T00:00:00Z"}}
    assert validate_object_meta_update({"metadata": {"name": "x"}}, old) == []
    assert _msgs(validate_object_meta_update({"metadata": {"name": "x", "uid": "2", "generation": 1}}, old)) == [
        "metadata.generation: Invalid value: 1: must not be decremented",
        'metadata.uid: Invalid value: "2": field is immutable']


def test_zero_grace_period_is_a_value_not_unset() -> None:
    deleting = {"name": "a", "namespace": "n", "uid": "u", "deletionTimestamp": "2026-01-01T00:00:00Z",
                "deletionGracePeriodSeconds": 0}
    same = {"metadata": dict(deleting, labels={"k": "v"})}
    assert validate_object_meta_update(same, {"metadata": deleting}) == []
    changed = {"metadata": dict(deleting, deletionGracePeriodSeconds=30)}
    errs = validate_object_meta_update(changed, {"metadata": deleting})
    assert [(e.field, e.message) for e in errs] == [
        ("metadata.deletionGracePeriodSeconds", "Invalid value: 30: field is immutable")]


# --- managedFields (issue 9) ---------------------------------------------------------------------

def _managed(**entry):
    base = {"manager": "m", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}
    return {"metadata": {"name": "x", "namespace": "d", "managedFields": [{**base, **entry}]}}


def _managed_errors(obj):
    return {e.field: e.message for e in validate_object_meta(obj, namespaced=True)}


def test_managed_fields_entries_are_validated_as_upstream():
    assert _managed_errors(_managed()) == {}
    assert _managed_errors(_managed(operation="Patch")) == {
        "metadata.managedFields[0].operation": 'Invalid value: "Patch": must be `Apply` or `Update`'}
    assert _managed_errors(_managed(fieldsType="FieldsV2")) == {
        "metadata.managedFields[0].fieldsType": 'Invalid value: "FieldsV2": must be `FieldsV1`'}
    assert "metadata.managedFields[0].manager" in _managed_errors(_managed(manager="x" * 129))
    assert _managed_errors(_managed(manager="a\x07b"))["metadata.managedFields[0].manager"].endswith(
        "invalid character U+0007 (at position 1)")
    assert "metadata.managedFields[0].subresource" in _managed_errors(_managed(subresource="s" * 257))


def test_fields_v1_must_be_a_trie_of_field_paths():
    for bad in ([1, 2], {"f:a": 1}, {"x:a": {}}, {"k:not-json": {}}, {"k:[1]": {}}, {"i:x": {}}, {"f:a": {"f:b": []}}):
        assert "metadata.managedFields[0].fieldsV1" in _managed_errors(_managed(fieldsV1=bad)), bad
    good = {".": {}, "f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}},
            "f:finalizers": {'v:"a"': {}}, "f:items": {"i:0": {}}}
    assert _managed_errors(_managed(fieldsV1=good)) == {}
