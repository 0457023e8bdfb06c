"""Validation of a CustomResourceDefinition itself, with upstream's messages.

What is checked: the name (``<plural>.<group>``), group, names, scope, the
versions (exactly one storage version, names, served versions' schemas), that
each schema is structural (every specified field has a type; defaults valid
against their schema), the subresources' paths, printer columns, selectable
fields, conversion, the CEL rules compiling, and on update the immutable scope
and the storage versions still stored.
"""

from __future__ import annotations

import re
from typing import Any

from pyk8s.api import names as namesval
from pyk8s.apiserver.apiextensions import cel, structural
from pyk8s.machinery.validation import FieldError, forbidden, invalid, not_supported, required

Obj = dict[str, Any]
SCOPES = ["Cluster", "Namespaced"]
COLUMN_TYPES = ["boolean", "date", "integer", "number", "string"]
TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_VERSION = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def validate_crd(crd: Obj, old: Obj | None = None) -> list[FieldError]:
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    errs: list[FieldError] = []
    group = spec.get("group") or ""
    names: Obj = spec["names"] if isinstance(spec.get("names"), dict) else {}
    plural = names.get("plural") or ""
    name = (crd.get("metadata") or {}).get("name") or ""
    if name and plural and group and name != f"{plural}.{group}":
        errs.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        errs.append(required("spec.group"))
    else:
        errs += [invalid("spec.group", group, m) for m in namesval.is_dns1123_subdomain(group)]
        if "." not in group:
            errs.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = spec.get("scope") or ""
    if not scope:
        errs.append(required("spec.scope"))
    elif scope not in SCOPES:
        errs.append(not_supported("spec.scope", scope, SCOPES))
    errs += _names(names, "spec.names")
    errs += _versions(spec.get("versions"), "spec.versions")
    errs += _conversion(spec, "spec.conversion")
    if spec.get("preserveUnknownFields"):
        errs.append(invalid("spec.preserveUnknownFields", True,
                            "must be false in order to use defaults in the schema"))
    if old is not None:
        old_spec = old.get("spec") or {}
        if old_spec.get("scope") and scope != old_spec.get("scope"):
            errs.append(invalid("spec.scope", scope, "field is immutable"))
        if old_spec.get("group") and group != old_spec.get("group"):
            errs.append(invalid("spec.group", group, "field is immutable"))
        served = {v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict)}
        for i, stored in enumerate((old.get("status") or {}).get("storedVersions") or []):
            if stored not in served:
                errs.append(invalid(f"status.storedVersions[{i}]", stored,
                                    "must appear in spec.versions"))
    return errs


def validate_status(crd: Obj) -> list[FieldError]:
    status = crd.get("status") or {}
    errs: list[FieldError] = []
    versions = {v.get("name") for v in (crd.get("spec") or {}).get("versions") or [] if isinstance(v, dict)}
    stored = status.get("storedVersions") or []
    for i, v in enumerate(stored):
        if v not in versions:
            errs.append(invalid(f"status.storedVersions[{i}]", v, "must appear in spec.versions"))
    return errs


def _names(names: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for key in ("plural", "singular"):
        value = names.get(key) or ""
        if not value and key == "plural":
            errs.append(required(f"{path}.plural"))
        elif value:
            errs += [invalid(f"{path}.{key}", value, m) for m in namesval.is_dns1035_label(value)]
    for key in ("kind", "listKind"):
        value = names.get(key) or ""
        if not value:
            if key == "kind":
                errs.append(required(f"{path}.kind"))
            continue
        errs += [invalid(f"{path}.{key}", value, m) for m in namesval.is_dns1035_label(value.lower())]
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        errs.append(invalid(f"{path}.listKind", names["listKind"], "kind and listKind may not be the same"))
    for field in ("shortNames", "categories"):
        for i, value in enumerate(names.get(field) or []):
            errs += [invalid(f"{path}.{field}[{i}]", value, m) for m in namesval.is_dns1035_label(str(value))]
    return errs


def _versions(versions: Any, path: str) -> list[FieldError]:
    if not isinstance(versions, list) or not versions:
        return [invalid(path, None, "must have exactly one version marked as storage version")]
    errs: list[FieldError] = []
    seen: set[str] = set()
    storage = 0
    for i, v in enumerate(versions):
        vpath = f"{path}[{i}]"
        if not isinstance(v, dict):
            errs.append(invalid(vpath, v, "must be an object"))
            continue
        name = v.get("name") or ""
        if not name:
            errs.append(required(f"{vpath}.name"))
        elif not _VERSION.match(name) or len(name) > 63:
            errs += [invalid(f"{vpath}.name", name, m) for m in namesval.is_dns1035_label(name)] or [
                invalid(f"{vpath}.name", name, "must be a valid version")]
        if name in seen:
            errs.append(invalid(path, name, "must contain unique version names"))
        seen.add(name)
        storage += 1 if v.get("storage") else 0
        errs += _version_body(v, vpath)
    if storage != 1:
        errs.append(invalid(path, [v.get("name") for v in versions if isinstance(v, dict)],
                            "must have exactly one version marked as storage version"))
    if not any(isinstance(v, dict) and v.get("served") for v in versions):
        errs.append(invalid(path, [v.get("name") for v in versions if isinstance(v, dict)],
                            "must have at least one version marked as served"))
    return errs


def _version_body(v: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    schema = (v.get("schema") or {}).get("openAPIV3Schema") if isinstance(v.get("schema"), dict) else None
    spath = f"{path}.schema.openAPIV3Schema"
    if schema is None:
        errs.append(required(spath, "schemas are required"))
    elif not isinstance(schema, dict):
        errs.append(invalid(spath, schema, "must be an object"))
    else:
        if schema.get("type") != "object":
            if not schema.get("type"):
                errs.append(required(f"{spath}.type", "must not be empty at the root"))
            else:
                errs.append(invalid(f"{spath}.type", schema.get("type"), "must be object at the root"))
        errs += _structural(schema, spath, root=True)
        _, problems = cel.compile_schema(schema, spath)
        errs += [invalid(where, "", why) for where, why in problems]
    errs += _subresources(v.get("subresources"), f"{path}.subresources")
    for i, col in enumerate(v.get("additionalPrinterColumns") or []):
        cpath = f"{path}.additionalPrinterColumns[{i}]"
        if not isinstance(col, dict):
            continue
        if not col.get("name"):
            errs.append(required(f"{cpath}.name"))
        if col.get("type") not in COLUMN_TYPES:
            errs.append(not_supported(f"{cpath}.type", col.get("type"), COLUMN_TYPES))
        if col.get("format") and col["format"] not in ("int32", "int64", "float", "double", "byte", "date",
                                                        "date-time", "password"):
            errs.append(not_supported(f"{cpath}.format", col["format"],
                                      ["int32", "int64", "float", "double", "byte", "date", "date-time", "password"]))
        if not col.get("jsonPath"):
            errs.append(required(f"{cpath}.jsonPath"))
        elif not str(col["jsonPath"]).startswith("."):
            errs.append(invalid(f"{cpath}.jsonPath", col["jsonPath"], "must be a simple json path starting with ."))
    for i, sel in enumerate(v.get("selectableFields") or []):
        jp = (sel or {}).get("jsonPath") if isinstance(sel, dict) else None
        if not jp:
            errs.append(required(f"{path}.selectableFields[{i}].jsonPath"))
        elif not str(jp).startswith("."):
            errs.append(invalid(f"{path}.selectableFields[{i}].jsonPath", jp, "must be a simple json path"))
    if v.get("deprecationWarning") and not v.get("deprecated"):
        errs.append(invalid(f"{path}.deprecationWarning", v["deprecationWarning"],
                            "can only be set for deprecated versions"))
    return errs


def _subresources(subs: Any, path: str) -> list[FieldError]:
    if not isinstance(subs, dict):
        return []
    scale = subs.get("scale")
    if not isinstance(scale, dict):
        return []
    errs: list[FieldError] = []
    spec_path = scale.get("specReplicasPath") or ""
    if not spec_path:
        errs.append(required(f"{path}.scale.specReplicasPath"))
    elif not spec_path.startswith(".spec."):
        errs.append(invalid(f"{path}.scale.specReplicasPath", spec_path, "should be a json path under .spec"))
    status_path = scale.get("statusReplicasPath") or ""
    if not status_path:
        errs.append(required(f"{path}.scale.statusReplicasPath"))
    elif not status_path.startswith(".status."):
        errs.append(invalid(f"{path}.scale.statusReplicasPath", status_path, "should be a json path under .status"))
    selector = scale.get("labelSelectorPath") or ""
    if selector and not (selector.startswith(".spec.") or selector.startswith(".status.")):
        errs.append(invalid(f"{path}.scale.labelSelectorPath", selector,
                            "should be a json path under either .spec or .status"))
    return errs


def _structural(schema: Obj, path: str, *, root: bool = False) -> list[FieldError]:
    """Every node specifies a type (unless int-or-string or preserving unknown fields); defaults validate."""
    errs: list[FieldError] = []
    kind = schema.get("type")
    special = schema.get(structural.INT_OR_STRING) or schema.get(structural.PRESERVE)
    if not kind and not special and not root:
        errs.append(required(f"{path}.type", "must not be empty for specified object fields"))
    elif kind and kind not in TYPES:
        errs.append(not_supported(f"{path}.type", kind, TYPES))
    for key in ("$ref", "definitions", "id", "dependencies", "patternProperties"):
        if key in schema:
            errs.append(forbidden(f"{path}.{key}", f"{key} is not supported"))
    if "properties" in schema and schema.get("additionalProperties") not in (None, False):
        errs.append(forbidden(f"{path}.additionalProperties", "additionalProperties and properties are mutual "
                                                             "exclusive"))
    if kind == "array" and not isinstance(schema.get("items"), dict):
        errs.append(required(f"{path}.items", "must be specified"))
    if "default" in schema:
        if root:
            errs.append(forbidden(f"{path}.default", "must not be set at the root"))
        else:
            bad = structural.validate_value(schema["default"], schema, f"{path}.default")
            errs += [invalid(f"{path}.default", schema["default"], e.message) for e in bad]
    if schema.get("x-kubernetes-list-type") == "map" and not schema.get("x-kubernetes-list-map-keys"):
        errs.append(required(f"{path}.x-kubernetes-list-map-keys",
                             'must not be empty if x-kubernetes-list-type is "map"'))
    for key, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            if root and key == "metadata":
                errs += _metadata_schema(sub, f"{path}.properties[metadata]")
                continue
            errs += _structural(sub, f"{path}.properties[{key}]")
    if isinstance(schema.get("items"), dict):
        errs += _structural(schema["items"], f"{path}.items")
    if isinstance(schema.get("additionalProperties"), dict):
        errs += _structural(schema["additionalProperties"], f"{path}.additionalProperties")
    return errs


def _metadata_schema(schema: Obj, path: str) -> list[FieldError]:
    """At the root, metadata may only restrict name and generateName (and be an object)."""
    errs: list[FieldError] = []
    if schema.get("type") not in (None, "object"):
        errs.append(invalid(f"{path}.type", schema.get("type"), "must be object"))
    for key in schema.get("properties") or {}:
        if key not in ("name", "generateName"):
            errs.append(forbidden(f"{path}.properties[{key}]", "must not be specified"))
    return errs


def _conversion(spec: Obj, path: str) -> list[FieldError]:
    conv = spec.get("conversion")
    if not isinstance(conv, dict):
        return []
    strategy = conv.get("strategy")
    if strategy not in ("None", "Webhook"):
        return [not_supported(f"{path}.strategy", strategy, ["None", "Webhook"])]
    webhook = conv.get("webhook")
    if strategy == "None":
        return [forbidden(f"{path}.webhook", 'should not be set when strategy is not set to Webhook')] if webhook \
            else []
    if not isinstance(webhook, dict):
        return [required(f"{path}.webhook", "required when strategy is set to Webhook")]
    errs: list[FieldError] = []
    review = webhook.get("conversionReviewVersions") or []
    if "v1" not in review and "v1beta1" not in review:
        errs.append(invalid(f"{path}.webhook.conversionReviewVersions", review,
                            "must include at least one of v1, v1beta1"))
    client = webhook.get("clientConfig") or {}
    if bool(client.get("url")) == bool(client.get("service")):
        errs.append(required(f"{path}.webhook.clientConfig", "exactly one of url or service is required"))
    return errs
