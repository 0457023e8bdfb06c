import pytest

import pyk8s.api  # noqa: F401  (registers the schemas)
from pyk8s.machinery.errors import StatusError
from pyk8s.machinery.typecheck import check_apply_config, check_patched, first_mismatch

CM = "io.k8s.api.core.v1.ConfigMap"
POD = "io.k8s.api.core.v1.Pod"
DEPLOY = "io.k8s.api.apps.v1.Deployment"


def message(obj, schema):
    found = first_mismatch(obj, schema)
    return found.message() if found else None


@pytest.mark.parametrize(("obj", "schema", "want"), [
    ({"data": {"k": 1}}, CM, "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"),
    ({"data": ["x"]}, CM, "json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string"),
    ({"metadata": {"labels": "x"}}, CM,
     "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string"),
    ({"metadata": "x"}, CM, "json: cannot unmarshal string into Go struct field ConfigMap.metadata of type v1.ObjectMeta"),
    ({"immutable": "yes"}, CM, "json: cannot unmarshal string into Go struct field ConfigMap.immutable of type bool"),
    ({"binaryData": {"b": 1}}, CM,
     "json: cannot unmarshal number into Go struct field ConfigMap.binaryData of type []uint8"),
    ({"spec": {"replicas": 2147483648}}, DEPLOY,
     "json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ({"spec": {"replicas": -2147483649}}, DEPLOY,
     "json: cannot unmarshal number -2147483649 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ({"spec": {"replicas": 1.5}}, DEPLOY,
     "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ({"spec": {"replicas": True}}, DEPLOY,
     "json: cannot unmarshal bool into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ({"spec": {"template": {"spec": {"containers": "x"}}}}, DEPLOY,
     "json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container"),
    ({"spec": {"containers": [{"name": 1}]}}, POD,
     "json: cannot unmarshal number into Go struct field Container.spec.containers.name of type string"),
    ({"metadata": {"generation": 2**63}}, POD,
     "json: cannot unmarshal number 9223372036854775808 into Go struct field ObjectMeta.metadata.generation of type int64"),
    ({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": []}}}]}}, POD,
     "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ({"metadata": {"creationTimestamp": 5}}, POD, "json: cannot unmarshal number into Go value of type string"),
])
def test_mismatches_are_worded_as_go_decodes(obj, schema, want):
    assert message(obj, schema) == want


@pytest.mark.parametrize(("obj", "schema"), [
    ({"data": {"k": "v"}, "metadata": {"labels": {"a": "b"}, "generation": 2**63 - 1}}, CM),
    ({"data": None, "metadata": {"labels": None}}, CM),  # null decodes to the zero value
    ({"spec": {"replicas": 2147483647}}, DEPLOY),
    ({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}],
                               "resources": {"limits": {"cpu": "1", "memory": 1024}}}]}}, POD),
    ({"metadata": {"managedFields": [{"fieldsV1": {"f:data": {}}}]}}, CM),  # FieldsV1 is free-form here
    ({"unknown": {"anything": [1]}}, CM),  # unknown fields are fieldcheck's business
])
def test_values_the_decoder_takes(obj, schema):
    assert first_mismatch(obj, schema) is None


def test_int_or_string_accepts_both_but_not_other_kinds():
    svc = "io.k8s.api.core.v1.Service"
    ok = {"spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8080}]}}
    assert first_mismatch(ok, svc) is None
    bad = {"spec": {"ports": [{"port": 80, "targetPort": True}]}}
    assert message(bad, svc) == "json: cannot unmarshal bool into Go value of type int32"


def test_patch_results_that_do_not_decode_are_422_on_the_patch_field():
    with pytest.raises(StatusError) as err:
        check_patched({"kind": "ConfigMap", "data": ["x"]}, CM)
    e = err.value
    assert (e.code, e.reason) == (422, "Invalid")
    assert e.message == (' "" is invalid: patch: Invalid value: "{\\"kind\\":\\"ConfigMap\\",\\"data\\":[\\"x\\"]}": '
                         "json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string")
    assert e.causes[0].field == "patch"
    check_patched({"data": {"a": "b"}}, CM)  # no error


def test_apply_configurations_are_checked_before_merging():
    with pytest.raises(StatusError) as err:
        check_apply_config({"data": {"n": 5}}, CM, "/v1, Kind=ConfigMap")
    assert (err.value.code, err.value.message) == (
        400, "failed to create typed patch object (/v1, Kind=ConfigMap): .data.n: expected string, got 5")
    with pytest.raises(StatusError) as err:
        check_apply_config({"spec": {"replicas": 2**31}}, DEPLOY, "apps/v1, Kind=Deployment")
    assert err.value.message.endswith(
        ".spec.replicas: json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas "
        "of type int32")
