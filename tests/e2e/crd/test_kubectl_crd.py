"""kubectl against CustomResourceDefinitions: apply a CRD, then create, get, patch and delete
custom objects; printer columns, explain, upstream's 422 messages (schema and CEL), defaults,
pruning, the status and scale subresources, field selectors, and the cleanup on CRD deletion."""

from __future__ import annotations

import json

import pytest

from pyk8s.testing.cluster import ServerProcess
from tests.e2e.helpers import wait_until

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
    categories: [all, example]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
    selectableFields:
    - jsonPath: .spec.image
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: The schedule and what to run.
            x-kubernetes-validations:
            - rule: self.replicas <= self.maxReplicas
              message: replicas must not exceed maxReplicas
            properties:
              cronSpec:
                type: string
                description: A cron schedule such as "* * * * */5".
                pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'
              image:
                type: string
              replicas:
                type: integer
                minimum: 1
                maximum: 10
                default: 1
              maxReplicas:
                type: integer
                default: 5
              color:
                type: string
                enum: [red, green]
            required: [cronSpec]
          status:
            type: object
            properties:
              replicas:
                type: integer
"""


def _crontab(name: str, extra: str = "") -> str:
    return f"""
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: {name}
  namespace: default
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
{extra}"""


@pytest.fixture(scope="module")
def crontabs(crd_server: ServerProcess) -> ServerProcess:
    crd_server.kubectl("apply", "-f", "-", input=CRD)

    def established() -> bool:
        out = crd_server.kubectl("get", "crd", "crontabs.stable.example.com", "-o", "json", check=False)
        if out.returncode != 0:
            return False
        conds = {c["type"]: c["status"] for c in json.loads(out.stdout).get("status", {}).get("conditions", [])}
        return conds.get("Established") == "True" and conds.get("NamesAccepted") == "True"

    wait_until(established, timeout=10, what="the CRD to be established")
    wait_until(lambda: crd_server.kubectl("get", "crontabs", check=False).returncode == 0, timeout=10,
               what="crontabs to be served")
    return crd_server


def test_create_get_shows_printer_columns_and_defaults(crontabs: ServerProcess) -> None:
    crontabs.kubectl("apply", "-f", "-", input=_crontab("cols"))
    out = crontabs.kubectl("get", "ct", "cols").stdout
    header, row = out.splitlines()[:2]
    assert header.split() == ["NAME", "SPEC", "REPLICAS"]  # no Age unless a column asks for it, as upstream
    assert row.split()[:7] == ["cols", "*", "*", "*", "*", "*/5", "1"]
    obj = json.loads(crontabs.kubectl("get", "crontab", "cols", "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 1 and obj["spec"]["maxReplicas"] == 5  # defaults
    assert obj["metadata"]["generation"] == 1


def test_category_and_discovery(crontabs: ServerProcess) -> None:
    crontabs.kubectl("apply", "-f", "-", input=_crontab("cat"))
    assert "cat" in crontabs.kubectl("get", "example").stdout
    resources = crontabs.kubectl("api-resources", "--api-group=stable.example.com").stdout
    assert "crontabs" in resources and "ct" in resources and "CronTab" in resources
    header = crontabs.kubectl("get", "crd", "crontabs.stable.example.com").stdout.splitlines()[0]
    assert header.split() == ["NAME", "CREATED", "AT"]


def test_unknown_fields_are_pruned(crontabs: ServerProcess) -> None:
    strict = crontabs.kubectl("apply", "-f", "-", check=False, input=_crontab("pruned", "  bogus: 1\n"))
    assert 'strict decoding error: unknown field "spec.bogus"' in strict.stderr  # kubectl's default is Strict
    out = crontabs.kubectl("apply", "--validate=warn", "-f", "-", input=_crontab("pruned", "  bogus: 1\n"))
    assert 'unknown field "spec.bogus"' in out.stderr
    obj = json.loads(crontabs.kubectl("get", "crontab", "pruned", "-o", "json").stdout)
    assert "bogus" not in obj["spec"]


def test_invalid_objects_get_upstreams_messages(crontabs: ServerProcess) -> None:
    out = crontabs.kubectl("apply", "-f", "-", check=False, input=_crontab(
        "bad", "  replicas: 15\n  color: pink\n").replace('"* * * * */5"', '"* * * *"'))
    assert out.returncode != 0
    err = out.stderr
    assert 'The CronTab "bad" is invalid' in err
    assert 'spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10' in err
    assert 'spec.color: Unsupported value: "pink": supported values: "red", "green"' in err
    assert "spec.cronSpec: Invalid value: \"* * * *\": spec.cronSpec in body should match" in err
    out = crontabs.kubectl("apply", "-f", "-", check=False, input=_crontab("typed", "  replicas: many\n"))
    assert 'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"' \
        in out.stderr


def test_cel_rule_message(crontabs: ServerProcess) -> None:
    out = crontabs.kubectl("apply", "-f", "-", check=False, input=_crontab("cel", "  replicas: 7\n  maxReplicas: 3\n"))
    assert out.returncode != 0
    assert 'spec: Invalid value: "object": replicas must not exceed maxReplicas' in out.stderr


def test_patch_kinds(crontabs: ServerProcess) -> None:
    crontabs.kubectl("apply", "-f", "-", input=_crontab("patched"))
    crontabs.kubectl("patch", "crontab", "patched", "--type=merge", "-p", '{"spec":{"replicas":2}}')
    crontabs.kubectl("patch", "crontab", "patched", "--type=json", "-p",
                     '[{"op":"replace","path":"/spec/image","value":"other"}]')
    out = crontabs.kubectl("patch", "crontab", "patched", "-p", '{"spec":{"replicas":3}}', check=False)
    assert out.returncode != 0  # strategic merge patch: 415, as upstream answers for custom resources
    obj = json.loads(crontabs.kubectl("get", "crontab", "patched", "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 2 and obj["spec"]["image"] == "other"
    assert obj["metadata"]["generation"] == 3
    crontabs.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=_crontab("patched"))
    obj = json.loads(crontabs.kubectl("get", "crontab", "patched", "-o", "json", "--show-managed-fields").stdout)
    assert "kubectl" in {m["manager"] for m in obj["metadata"]["managedFields"]}


def test_status_and_scale(crontabs: ServerProcess) -> None:
    crontabs.kubectl("apply", "-f", "-", input=_crontab("scaled"))
    crontabs.kubectl("scale", "crontab", "scaled", "--replicas=4")
    crontabs.kubectl("patch", "crontab", "scaled", "--subresource=status", "--type=merge",
                     "-p", '{"status":{"replicas":4}}')
    scale = json.loads(crontabs.kubectl("get", "--raw",
                                        "/apis/stable.example.com/v1/namespaces/default/crontabs/scaled/scale").stdout)
    assert scale["spec"]["replicas"] == 4 and scale["status"]["replicas"] == 4
    # status is ignored by the main resource once the status subresource is on
    crontabs.kubectl("patch", "crontab", "scaled", "--type=merge", "-p", '{"status":{"replicas":9}}')
    obj = json.loads(crontabs.kubectl("get", "crontab", "scaled", "-o", "json").stdout)
    assert obj["status"]["replicas"] == 4


def test_field_selectors(crontabs: ServerProcess) -> None:
    crontabs.kubectl("apply", "-f", "-", input=_crontab("sel-a"))
    crontabs.kubectl("apply", "-f", "-", input=_crontab("sel-b").replace("my-awesome-cron-image", "special"))
    names = crontabs.kubectl("get", "crontabs", "--field-selector", "spec.image=special", "-o", "name").stdout.split()
    assert names == ["crontab.stable.example.com/sel-b"]
    names = crontabs.kubectl("get", "crontabs", "--field-selector", "metadata.name=sel-a", "-o", "name").stdout.split()
    assert names == ["crontab.stable.example.com/sel-a"]


def test_explain_documents_fields(crontabs: ServerProcess) -> None:
    out = crontabs.kubectl("explain", "crontabs.spec").stdout
    assert "The schedule and what to run." in out
    assert "cronSpec" in out and "replicas" in out


def test_deleting_the_crd_removes_its_objects(crd_server: ServerProcess) -> None:
    crd = CRD.replace("crontabs", "gadgets").replace("crontab", "gadget").replace("CronTab", "Gadget") \
        .replace("[ct]", "[gd]").replace("categories: [all, example]", "categories: [gadgetry]")
    crd_server.kubectl("apply", "-f", "-", input=crd)
    wait_until(lambda: crd_server.kubectl("get", "gadgets", check=False).returncode == 0, timeout=10,
               what="gadgets to be served")
    crd_server.kubectl("apply", "-f", "-", input=_crontab("g1").replace("CronTab", "Gadget"))
    crd_server.kubectl("delete", "crd", "gadgets.stable.example.com", "--timeout=30s")
    out = crd_server.kubectl("get", "crd", "gadgets.stable.example.com", check=False)
    assert out.returncode != 0 and "NotFound" in out.stderr
    wait_until(lambda: crd_server.kubectl("get", "gadgets", check=False).returncode != 0, timeout=10,
               what="gadgets to stop being served")


VERSIONED = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: shapes.geo.example.com
spec:
  group: geo.example.com
  scope: Cluster
  names: {plural: shapes, singular: shape, kind: Shape}
  versions:
  - name: v1beta1
    served: true
    storage: false
    deprecated: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {sides: {type: integer}}}
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {sides: {type: integer}}}
"""


def test_versions_share_storage_and_deprecated_warns(crd_server: ServerProcess) -> None:
    crd_server.kubectl("apply", "-f", "-", input=VERSIONED)
    crd_server.kubectl("wait", "--for=condition=Established", "crd/shapes.geo.example.com", "--timeout=30s")
    wait_until(lambda: crd_server.kubectl("get", "shapes.v1beta1.geo.example.com", check=False).returncode == 0,
               timeout=10, what="shapes v1beta1 to be served")
    out = crd_server.kubectl("create", "-f", "-", input="apiVersion: geo.example.com/v1beta1\nkind: Shape\n"
                             "metadata: {name: tri}\nspec: {sides: 3}\n")
    assert "geo.example.com/v1beta1 Shape is deprecated; use geo.example.com/v1 Shape" in out.stderr
    v1 = json.loads(crd_server.kubectl("get", "--raw", "/apis/geo.example.com/v1/shapes/tri").stdout)
    assert v1["apiVersion"] == "geo.example.com/v1" and v1["spec"] == {"sides": 3}
    group = json.loads(crd_server.kubectl("get", "--raw", "/apis/geo.example.com").stdout)
    assert group["preferredVersion"]["version"] == "v1"
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    crd = json.loads(crd_server.kubectl("get", "crd", "shapes.geo.example.com", "-o", "json").stdout)
    assert crd["status"]["storedVersions"] == ["v1"]


def test_defaults_apply_on_read(crd_server: ServerProcess) -> None:
    """A default added to the schema later shows on objects stored before it, as upstream applies
    defaults to what it reads from storage."""
    crd = VERSIONED.replace("shapes", "tiles").replace("shape", "tile").replace("Shape", "Tile")
    crd_server.kubectl("apply", "-f", "-", input=crd)
    crd_server.kubectl("wait", "--for=condition=Established", "crd/tiles.geo.example.com", "--timeout=30s")
    wait_until(lambda: crd_server.kubectl("get", "tiles", check=False).returncode == 0, timeout=10,
               what="tiles to be served")
    crd_server.kubectl("create", "-f", "-", input="apiVersion: geo.example.com/v1\nkind: Tile\n"
                       "metadata: {name: old}\nspec: {}\n")
    crd_server.kubectl("apply", "-f", "-", input=crd.replace("sides: {type: integer}",
                                                             "sides: {type: integer, default: 4}"))

    def defaulted() -> bool:
        out = crd_server.kubectl("get", "--raw", "/apis/geo.example.com/v1/tiles/old", check=False)
        return out.returncode == 0 and json.loads(out.stdout)["spec"] == {"sides": 4}

    wait_until(defaulted, timeout=10, what="the new default on read")
