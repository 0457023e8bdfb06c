"""apiextensions.k8s.io/v1 CustomResourceDefinition: its schema, defaults and strategy.

Importing this module registers the kind in the process scheme (cluster
scoped, short names ``crd``/``crds``, category ``api-extensions``, a status
subresource), as upstream's apiextensions-apiserver serves it beside the
built-in groups.  The schema of a version (``openAPIV3Schema``) is free-form
here: it is validated by ``crdvalidation`` and applied by ``structural``.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.kinds import META_CONDITION, define_kind, register
from pyk8s.apiserver.apiextensions import crdvalidation
from pyk8s.machinery.schema import BOOL, INT32, STRING, STRING_LIST, AnyValue, ArrayOf, Field, Ref, define
from pyk8s.machinery.scheme import SCHEME, ResourceType, Strategy
from pyk8s.machinery.validation import FieldError

Obj = dict[str, Any]
GROUP = "apiextensions.k8s.io"
P = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1"
FINALIZER = "customresourcecleanup.apiextensions.k8s.io"

define(f"{P}.CustomResourceDefinitionNames", "The names used to serve a custom resource.", [
    Field("plural", STRING, "The plural name of the resource to serve (lowercase).", required=True),
    Field("singular", STRING, "The singular name of the resource (lowercase); defaults to the lowercased kind."),
    Field("shortNames", STRING_LIST, "Short names for the resource, exposed in discovery (`kubectl get <shortname>`).",
          list_type="atomic"),
    Field("kind", STRING, "The serialized kind of the resource (CamelCase, singular).", required=True),
    Field("listKind", STRING, "The serialized kind of the list; defaults to `kind`List."),
    Field("categories", STRING_LIST, "Grouped resources this one belongs to (`kubectl get all`).",
          list_type="atomic"),
])
define(f"{P}.CustomResourceColumnDefinition", "A column for server side printing.", [
    Field("name", STRING, "A human readable name for the column.", required=True),
    Field("type", STRING, "An OpenAPI type definition for this column (integer, number, string, boolean, date).",
          required=True),
    Field("format", STRING, "An optional OpenAPI type definition for this column."),
    Field("description", STRING, "A human readable description of this column."),
    Field("priority", INT32, "The column's importance; 0 is shown in standard view, higher only in wide."),
    Field("jsonPath", STRING, "A simple JSON path evaluated against each custom resource to produce the value.",
          required=True),
])
define(f"{P}.CustomResourceValidation", "The schema validation of a custom resource version.", [
    Field("openAPIV3Schema", AnyValue(), "The OpenAPI v3 schema used for validation and pruning."),
])
define(f"{P}.CustomResourceSubresources", "The status and scale subresources of a custom resource version.", [
    Field("status", AnyValue(), "Enables the status subresource (an empty object)."),
    Field("scale", AnyValue(), "Enables the scale subresource (specReplicasPath, statusReplicasPath, "
                               "labelSelectorPath)."),
])
define(f"{P}.SelectableField", "A field that may be used with field selectors.", [
    Field("jsonPath", STRING, "A simple JSON path to a string, integer or boolean field.", required=True),
])
define(f"{P}.CustomResourceDefinitionVersion", "One version of a custom resource.", [
    Field("name", STRING, "The version name, e.g. v1, v2beta1.", required=True),
    Field("served", BOOL, "Whether this version is served by the REST API.", required=True),
    Field("storage", BOOL, "Whether this version is the one objects are persisted in (exactly one).",
          required=True),
    Field("deprecated", BOOL, "Whether this version is deprecated (responses carry a warning)."),
    Field("deprecationWarning", STRING, "Overrides the default warning returned to clients."),
    Field("schema", Ref(f"{P}.CustomResourceValidation"), "The schema used for validation, pruning and defaulting."),
    Field("subresources", Ref(f"{P}.CustomResourceSubresources"), "The subresources this version serves."),
    Field("additionalPrinterColumns", ArrayOf(Ref(f"{P}.CustomResourceColumnDefinition")),
          "Columns shown in table output (`kubectl get`).", list_type="atomic"),
    Field("selectableFields", ArrayOf(Ref(f"{P}.SelectableField")), "Fields usable as field selectors.",
          list_type="atomic"),
])
define(f"{P}.CustomResourceConversion", "How versions of a custom resource are converted.", [
    Field("strategy", STRING, "None (only apiVersion changes) or Webhook.", required=True),
    Field("webhook", AnyValue(), "The webhook to call when strategy is Webhook (clientConfig, "
                                 "conversionReviewVersions)."),
])
define(f"{P}.CustomResourceDefinitionSpec", "The desired shape of a custom resource.", [
    Field("group", STRING, "The API group of the resource (e.g. stable.example.com).", required=True),
    Field("names", Ref(f"{P}.CustomResourceDefinitionNames"), "The names of the resource.", required=True),
    Field("scope", STRING, "Cluster or Namespaced.", required=True),
    Field("versions", ArrayOf(Ref(f"{P}.CustomResourceDefinitionVersion")), "The served versions.",
          required=True, list_type="atomic"),
    Field("conversion", Ref(f"{P}.CustomResourceConversion"), "How versions are converted."),
    Field("preserveUnknownFields", BOOL, "Must be false in apiextensions.k8s.io/v1."),
])
define(f"{P}.CustomResourceDefinitionCondition", "One condition of a CustomResourceDefinition.", [
    Field("type", STRING, "Established, NamesAccepted or Terminating.", required=True),
    Field("status", STRING, "True, False or Unknown.", required=True),
    Field("lastTransitionTime", Ref("io.k8s.apimachinery.pkg.apis.meta.v1.Time"), "When it last changed."),
    Field("reason", STRING, "A machine readable reason."),
    Field("message", STRING, "A human readable message."),
])
define(f"{P}.CustomResourceDefinitionStatus", "The observed state of a CustomResourceDefinition.", [
    Field("conditions", ArrayOf(Ref(f"{P}.CustomResourceDefinitionCondition")), "The observed conditions.",
          list_type="map", list_map_keys=("type",)),
    Field("acceptedNames", Ref(f"{P}.CustomResourceDefinitionNames"), "The names actually being served."),
    Field("storedVersions", STRING_LIST, "Every version objects have ever been persisted in.", list_type="atomic"),
])
define_kind(P, "CustomResourceDefinition", (GROUP, "v1"),
            "CustomResourceDefinition represents a resource that should be exposed on the API server. "
            "Its name MUST be in the format <.spec.name>.<.spec.group>.", [
                Field("spec", Ref(f"{P}.CustomResourceDefinitionSpec"), "The desired resource.", required=True),
                Field("status", Ref(f"{P}.CustomResourceDefinitionStatus"), "The observed state."),
            ])
_ = META_CONDITION  # conditions here have their own type, as upstream


def default_crd(obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict) and isinstance(names.get("kind"), str):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    conversion = spec.setdefault("conversion", {"strategy": "None"})
    if isinstance(conversion, dict):
        conversion.setdefault("strategy", "None")
        webhook = conversion.get("webhook")
        if isinstance(webhook, dict) and isinstance(webhook.get("clientConfig"), dict):
            svc = webhook["clientConfig"].get("service")
            if isinstance(svc, dict):
                svc.setdefault("port", 443)


class CRDStrategy(Strategy):
    has_status = True
    tracks_generation = True
    allow_unconditional_update = False

    def default(self, obj: Obj) -> None:
        default_crd(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"storedVersions": [v["name"] for v in (obj.get("spec") or {}).get("versions") or []
                                            if isinstance(v, dict) and v.get("storage")]}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        stored = list((new.get("status") or {}).get("storedVersions") or [])
        for v in (new.get("spec") or {}).get("versions") or []:
            if isinstance(v, dict) and v.get("storage") and v.get("name") not in stored:
                stored.append(v["name"])
        new.setdefault("status", {})["storedVersions"] = stored

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=False) + crdvalidation.validate_crd(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old) + crdvalidation.validate_crd(new, old)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old) + crdvalidation.validate_status(new)


CRD_RESOURCE: ResourceType = SCHEME.get(GROUP, "v1", "customresourcedefinitions") or register(
    group=GROUP, version="v1", kind="CustomResourceDefinition", plural="customresourcedefinitions",
    namespaced=False, strategy=CRDStrategy(), schema=f"{P}.CustomResourceDefinition",
    short_names=("crd", "crds"), categories=("api-extensions",), subresources=("status",))
