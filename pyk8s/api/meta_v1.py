"""meta/v1: ObjectMeta and friends, and the metadata checks every kind shares.

The schemas here are referenced by every kind (``Ref(OBJECT_META)``).  The
validators are public because other groups (apps, batch, ...) reuse them:

* ``validate_object_meta`` - name/generateName/namespace, labels, annotations,
  owner references, finalizers, as on create.
* ``validate_object_meta_update`` - the same plus the immutable identity
  fields (name, namespace, uid, creationTimestamp, ...).
* ``validate_label_selector`` - a ``metav1.LabelSelector``.

Conflict detection (resourceVersion) is the store's job, so it is not
repeated here.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from pyk8s.api import names
from pyk8s.machinery.schema import (
    BOOL,
    INT32,
    INT64,
    STRING,
    STRING_LIST,
    STRING_MAP,
    TIME,
    AnyValue,
    ArrayOf,
    Field,
    Ref,
    define,
)
from pyk8s.machinery.validation import (
    INVALID,
    FieldError,
    forbidden,
    invalid,
    required,
    too_long,
)

Obj = dict[str, Any]
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = META + "ObjectMeta"
LIST_META = META + "ListMeta"
LABEL_SELECTOR = META + "LabelSelector"
CONDITION = META + "Condition"

define(META + "OwnerReference", "Points at an object that owns this one; garbage collection follows these links.", [
    Field("apiVersion", STRING, "API version of the owner.", required=True),
    Field("kind", STRING, "Kind of the owner.", required=True),
    Field("name", STRING, "Name of the owner.", required=True),
    Field("uid", STRING, "UID of the owner.", required=True),
    Field("controller", BOOL, "True when the owner is the managing controller (at most one per object)."),
    Field("blockOwnerDeletion", BOOL, "With foreground deletion, the owner waits until this object is gone."),
])

define(META + "FieldsV1", "The set of fields a manager owns, encoded as a JSON trie.", [],
       preserve_unknown_fields=True)

define(META + "ManagedFieldsEntry", "Which fields one field manager owns, recorded by server-side apply.", [
    Field("manager", STRING, "Name of the workflow that manages the fields."),
    Field("operation", STRING, "The kind of request that last touched the fields: Apply or Update."),
    Field("apiVersion", STRING, "Version of the schema the field set is expressed in."),
    Field("time", TIME, "When the entry was last changed."),
    Field("fieldsType", STRING, "Format of fieldsV1; only FieldsV1 exists."),
    Field("fieldsV1", Ref(META + "FieldsV1"), "The owned fields."),
    Field("subresource", STRING, "Subresource the update went through, empty for the main resource."),
])

define(OBJECT_META, "Standard metadata that every persisted object carries.", [
    Field("name", STRING, "Unique name within the namespace (or cluster, for cluster-scoped kinds)."),
    Field("generateName", STRING, "Prefix the server uses to invent a unique name when name is empty."),
    Field("namespace", STRING, "Namespace the object lives in; empty for cluster-scoped kinds."),
    Field("selfLink", STRING, "Deprecated and never set."),
    Field("uid", STRING, "Server-assigned identifier, unique across time."),
    Field("resourceVersion", STRING, "Opaque version used for optimistic concurrency and watches."),
    Field("generation", INT64, "Sequence number of changes to the desired state."),
    Field("creationTimestamp", TIME, "When the server created the object."),
    Field("deletionTimestamp", TIME, "When graceful deletion will complete; set by the server on delete."),
    Field("deletionGracePeriodSeconds", INT64, "Seconds the object is given to terminate gracefully."),
    Field("labels", STRING_MAP, "Key/value pairs used to select and group objects."),
    Field("annotations", STRING_MAP, "Arbitrary non-identifying key/value data."),
    Field("ownerReferences", ArrayOf(Ref(META + "OwnerReference")), "Objects this one depends on.",
          merge_key="uid", strategy="merge", list_type="map", list_map_keys=("uid",)),
    Field("finalizers", STRING_LIST, "Conditions that must clear before the object is removed from storage.",
          strategy="merge", list_type="set"),
    Field("managedFields", ArrayOf(Ref(META + "ManagedFieldsEntry")), "Field ownership per manager."),
])

define(LIST_META, "Metadata of a list response.", [
    Field("selfLink", STRING, "Deprecated and never set."),
    Field("resourceVersion", STRING, "Version of the collection, usable as a watch starting point."),
    Field("continue", STRING, "Token for fetching the next page, if the list was cut short."),
    Field("remainingItemCount", INT64, "Estimated number of items not yet returned."),
])

define(META + "LabelSelectorRequirement", "One key/operator/values test in a label selector.", [
    Field("key", STRING, "The label key the test applies to.", required=True),
    Field("operator", STRING, "One of In, NotIn, Exists, DoesNotExist.", required=True),
    Field("values", STRING_LIST, "Values for In/NotIn; must be empty for Exists/DoesNotExist.", list_type="atomic"),
])

define(LABEL_SELECTOR, "Matches objects by labels; all terms must hold. An empty selector matches everything.", [
    Field("matchLabels", STRING_MAP, "Exact key=value pairs that must all be present."),
    Field("matchExpressions", ArrayOf(Ref(META + "LabelSelectorRequirement")), "Set-based requirements.",
          list_type="atomic"),
])

define(CONDITION, "A standard condition of an object's state.", [
    Field("type", STRING, "Condition type in CamelCase.", required=True),
    Field("status", STRING, "True, False or Unknown.", required=True),
    Field("observedGeneration", INT64, "The generation the condition was computed from."),
    Field("lastTransitionTime", TIME, "When status last changed.", required=True),
    Field("reason", STRING, "Machine-readable reason for the last transition.", required=True),
    Field("message", STRING, "Human-readable details.", required=True),
])

define(META + "StatusCause", "One cause of an API error.", [
    Field("reason", STRING, "Machine-readable cause."),
    Field("message", STRING, "Human-readable cause."),
    Field("field", STRING, "Path of the offending field, if any."),
])

define(META + "StatusDetails", "Extra data about an API error.", [
    Field("name", STRING, "Name of the object involved."),
    Field("group", STRING, "API group of the object."),
    Field("kind", STRING, "Kind or resource of the object."),
    Field("uid", STRING, "UID of the object."),
    Field("causes", ArrayOf(Ref(META + "StatusCause")), "Individual causes.", list_type="atomic"),
    Field("retryAfterSeconds", INT32, "Seconds to wait before retrying."),
])

define(META + "Status", "Result of an operation that does not return an object.", [
    Field("apiVersion", STRING, "Schema version of this object."),
    Field("kind", STRING, "Kind of this object."),
    Field("metadata", Ref(LIST_META), "List metadata."),
    Field("status", STRING, "Success or Failure."),
    Field("message", STRING, "Human-readable description."),
    Field("reason", STRING, "Machine-readable reason."),
    Field("details", Ref(META + "StatusDetails"), "Extra data about the result."),
    Field("code", INT32, "HTTP status code."),
], gvk=("", "v1", "Status"))

define(META + "Preconditions", "Conditions that must hold for a delete to proceed.", [
    Field("uid", STRING, "Required UID."),
    Field("resourceVersion", STRING, "Required resource version."),
])

define(META + "DeleteOptions", "Options for a delete request.", [
    Field("apiVersion", STRING, "Schema version of this object."),
    Field("kind", STRING, "Kind of this object."),
    Field("gracePeriodSeconds", INT64, "Seconds before the object is removed; 0 means now."),
    Field("preconditions", Ref(META + "Preconditions"), "Must hold for the delete to happen."),
    Field("orphanDependents", BOOL, "Deprecated: use propagationPolicy."),
    Field("propagationPolicy", STRING, "Orphan, Background or Foreground garbage collection."),
    Field("dryRun", STRING_LIST, "When set to All, nothing is persisted.", list_type="atomic"),
    Field("ignoreStoreReadErrorWithClusterBreakingPotential", BOOL, "Delete even if the stored object is unreadable."),
])

define(META + "WatchEvent", "One change notification in a watch stream.", [
    Field("type", STRING, "ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.", required=True),
    Field("object", AnyValue(embedded_object=True), "The object, or a Status for ERROR.", required=True),
])


def define_list(prefix: str, kind: str, gvk: tuple[str, str], plural_desc: str) -> None:
    """Register ``<prefix>.<kind>List`` holding items of ``<prefix>.<kind>``."""
    group, version = gvk
    define(f"{prefix}.{kind}List", f"A list of {plural_desc}.", [
        Field("apiVersion", STRING, "Schema version of this object."),
        Field("kind", STRING, "Kind of this object."),
        Field("metadata", Ref(LIST_META), "List metadata."),
        Field("items", ArrayOf(Ref(f"{prefix}.{kind}")), f"The {plural_desc}.", required=True),
    ], gvk=(group, version, kind + "List"))


def type_meta_fields() -> list[Field]:
    """apiVersion, kind and metadata: the head of every kind's schema."""
    return [
        Field("apiVersion", STRING, "Schema version of this object."),
        Field("kind", STRING, "Kind of this object."),
        Field("metadata", Ref(OBJECT_META), "Standard object metadata."),
    ]


# ---------------------------------------------------------------- validation


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key, value in (labels or {}).items():
        errs += [invalid(path, key, m) for m in names.is_qualified_name(key)]
        errs += [invalid(path, value, m) for m in names.is_valid_label_value(str(value))]
    return errs


def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    total = 0
    for key, value in (annotations or {}).items():
        # Annotation keys are qualified names, compared case-insensitively.
        errs += [invalid(path, key, m) for m in names.is_qualified_name(key.lower())]
        total += len(key) + len(str(value))
    if total > names.TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, names.TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def validate_owner_references(refs: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    controllers: list[str] = []
    for i, ref in enumerate(refs or []):
        p = f"{path}[{i}]"
        if not ref.get("apiVersion"):
            errs.append(invalid(p + ".apiVersion", ref.get("apiVersion", ""), "version must not be empty"))
        if not ref.get("kind"):
            errs.append(invalid(p + ".kind", ref.get("kind", ""), "kind must not be empty"))
        if not ref.get("name"):
            errs.append(invalid(p + ".name", ref.get("name", ""), "name must not be empty"))
        if not ref.get("uid"):
            errs.append(invalid(p + ".uid", ref.get("uid", ""), "uid must not be empty"))
        if ref.get("controller"):
            controllers.append(f"{ref.get('kind')}/{ref.get('name')}")
    if len(controllers) > 1:
        errs.append(invalid(path, refs, "Only one reference can have Controller set to true. Found \"true\" in "
                                        f"references for {controllers[0]} and {controllers[1]}"))
    return errs


def validate_finalizers(finalizers: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, name in enumerate(finalizers or []):
        errs += [invalid(f"{path}[{i}]", name, m) for m in names.is_qualified_name(name)]
    return errs


def validate_nonnegative(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, int) and value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


FIELD_MANAGER_MAX_LENGTH = 128
MAX_SUBRESOURCE_NAME_LENGTH = 256
_FIELD_PATH_TAGS = ("f:", "k:", "v:", "i:")


def validate_field_manager(manager: str, path: str) -> list[FieldError]:
    """Upstream's ValidateFieldManager: at most 128 bytes, all printable."""
    errs: list[FieldError] = []
    if len(manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        errs.append(too_long(path, FIELD_MANAGER_MAX_LENGTH))
    for i, ch in enumerate(manager):
        if not ch.isprintable():
            errs.append(invalid(path, manager, f"invalid character U+{ord(ch):04X} "
                                               f"(at position {len(manager[:i].encode())})"))
    return errs


def _field_path_key(key: Any) -> bool:
    """One key of a FieldsV1 trie: ``.``, ``f:name``, ``k:{json object}``, ``v:json``, ``i:index``."""
    if not isinstance(key, str):
        return False
    if key == ".":
        return True
    tag, rest = key[:2], key[2:]
    if tag not in _FIELD_PATH_TAGS:
        return False
    if tag == "i:":
        return rest.isdigit()
    if tag == "k:" or tag == "v:":
        try:
            value = orjson.loads(rest)
        except ValueError:
            return False
        return isinstance(value, dict) if tag == "k:" else True
    return True


def valid_fields_v1(fields: Any) -> bool:
    """A FieldsV1 trie: maps all the way down, keyed by field path elements (walked without recursion)."""
    stack = [fields]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            return False
        for key, child in node.items():
            if not _field_path_key(key):
                return False
            stack.append(child)
    return True


def validate_managed_fields(entries: Any, path: str = "metadata.managedFields") -> list[FieldError]:
    """Upstream's ValidateManagedFields, plus the shape of fieldsV1 (which upstream checks when it decodes it)."""
    errs: list[FieldError] = []
    for i, entry in enumerate(entries or []):
        p = f"{path}[{i}]"
        if not isinstance(entry, dict):
            errs.append(invalid(p, entry, "must be an object"))
            continue
        op = entry.get("operation") or ""
        if op not in ("Apply", "Update"):
            errs.append(invalid(p + ".operation", op, "must be `Apply` or `Update`"))
        fields_type = entry.get("fieldsType") or ""
        if fields_type and fields_type != "FieldsV1":
            errs.append(invalid(p + ".fieldsType", fields_type, "must be `FieldsV1`"))
        errs += validate_field_manager(str(entry.get("manager") or ""), p + ".manager")
        if len(str(entry.get("subresource") or "")) > MAX_SUBRESOURCE_NAME_LENGTH:
            errs.append(too_long(p + ".subresource", MAX_SUBRESOURCE_NAME_LENGTH))
        fields_v1 = entry.get("fieldsV1")
        if fields_v1 is not None and not valid_fields_v1(fields_v1):
            errs.append(FieldError(INVALID, p + ".fieldsV1", "must be a map of field paths (FieldsV1)"))
    return errs


def validate_object_meta(obj: Obj, *, namespaced: bool, path: str = "metadata",
                         name_fn: names.NameFn = names.is_dns1123_subdomain) -> list[FieldError]:
    """Create-time metadata checks; ``obj`` is the whole object."""
    meta = obj.get("metadata") or {}
    errs: list[FieldError] = []
    gen_name = meta.get("generateName") or ""
    if gen_name:
        errs += [invalid(path + ".generateName", gen_name, m) for m in name_fn(names.mask_trailing_dash(gen_name))]
    name = meta.get("name") or ""
    if not name:
        errs.append(required(path + ".name", "name or generateName is required"))
    else:
        errs += [invalid(path + ".name", name, m) for m in name_fn(name)]
    ns = meta.get("namespace") or ""
    if namespaced:
        if not ns:
            errs.append(required(path + ".namespace"))
        else:
            errs += [invalid(path + ".namespace", ns, m) for m in names.is_dns1123_label(ns)]
    elif ns:
        errs.append(forbidden(path + ".namespace", "not allowed on this type"))
    errs += validate_nonnegative(meta.get("generation"), path + ".generation")
    errs += validate_labels(meta.get("labels"), path + ".labels")
    errs += validate_annotations(meta.get("annotations"), path + ".annotations")
    errs += validate_owner_references(meta.get("ownerReferences"), path + ".ownerReferences")
    errs += validate_finalizers(meta.get("finalizers"), path + ".finalizers")
    errs += validate_managed_fields(meta.get("managedFields"), path + ".managedFields")
    return errs


def validate_immutable(new: Any, old: Any, path: str) -> list[FieldError]:
    return [] if new == old else [invalid(path, new, "field is immutable")]


def _go_string_slice(values: list[str]) -> str:
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def validate_object_meta_update(new: Obj, old: Obj) -> list[FieldError]:
    """Update-time metadata checks: identity fields are immutable."""
    nm, om = new.get("metadata") or {}, old.get("metadata") or {}
    errs: list[FieldError] = []
    if om.get("deletionTimestamp"):
        added = sorted(set(nm.get("finalizers") or []) - set(om.get("finalizers") or []))
        if added:
            errs.append(forbidden("metadata.finalizers", "no new finalizers can be added if the object is being "
                                                         f"deleted, found new finalizers {_go_string_slice(added)}"))
    if nm.get("generation") is not None and nm["generation"] < (om.get("generation") or 0):
        errs.append(invalid("metadata.generation", nm["generation"], "must not be decremented"))
    errs += validate_immutable(nm.get("name") or None, om.get("name") or None, "metadata.name")
    # The store copies these from the old object when a request leaves them out
    # (upstream's BeforeUpdate), so only a different non-empty value is an error.
    for key in ("namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
        if nm.get(key) not in (None, ""):
            # 0 is a real value here (deletionGracePeriodSeconds: 0); only "" means unset.
            errs += validate_immutable(nm.get(key), None if om.get(key) == "" else om.get(key), f"metadata.{key}")
    errs += validate_labels(nm.get("labels"), "metadata.labels")
    errs += validate_annotations(nm.get("annotations"), "metadata.annotations")
    errs += validate_owner_references(nm.get("ownerReferences"), "metadata.ownerReferences")
    errs += validate_finalizers(nm.get("finalizers"), "metadata.finalizers")
    errs += validate_managed_fields(nm.get("managedFields"))
    return errs


def validate_label_selector(sel: Obj | None, path: str) -> list[FieldError]:
    """A metav1.LabelSelector: valid keys/values and operator/values agreement."""
    if sel is None:
        return []
    errs = validate_labels(sel.get("matchLabels"), path + ".matchLabels")
    for i, expr in enumerate(sel.get("matchExpressions") or []):
        p = f"{path}.matchExpressions[{i}]"
        op, values = expr.get("operator", ""), expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(p + ".values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden(p + ".values", "may not be specified when `operator` is 'Exists' or "
                                                     "'DoesNotExist'"))
        else:
            errs.append(invalid(p + ".operator", op, "not a valid selector operator"))
        key = expr.get("key", "")
        errs += [invalid(p + ".key", key, m) for m in names.is_qualified_name(key)]
        for j, value in enumerate(values):
            errs += [invalid(f"{p}.values[{j}]", value, m) for m in names.is_valid_label_value(value)]
    return errs
