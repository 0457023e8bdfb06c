"""What the non-core API groups share: kind registration, the head of every
kind's schema, pod-template hooks and Go-style value rendering for messages.

Kubernetes prints the bad value of a ``field.Invalid`` with Go's ``%#v`` when
it is not a plain string or number, so users see texts such as
``map[string]string{"app":"web"}`` or ``v1.LabelSelector{MatchLabels:...}``.
kubectl users (and scripts) grep for these, so ``go_*`` below render dicts the
way Go renders the corresponding structs, and ``invalid_go`` builds a
FieldError whose message carries that rendering verbatim.

Pod-template defaulting and validation belong to core/v1; they are reached
lazily (``_pod_module``) so the group modules import even while core/v1 is
being assembled, and so import order between api modules never matters.
"""

from __future__ import annotations

import importlib
import json
import re
from types import ModuleType
from typing import Any

from pyk8s.machinery import labels
from pyk8s.machinery.schema import STRING, ArrayOf, Field, Ref, define
from pyk8s.machinery.scheme import SCHEME, ResourceType, Strategy
from pyk8s.machinery.validation import INVALID, FieldError, invalid

Obj = dict[str, Any]

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
LABEL_SELECTOR = "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"
META_CONDITION = "io.k8s.apimachinery.pkg.apis.meta.v1.Condition"
POD_TEMPLATE_SPEC = "io.k8s.api.core.v1.PodTemplateSpec"
PVC = "io.k8s.api.core.v1.PersistentVolumeClaim"
OBJECT_REFERENCE = "io.k8s.api.core.v1.ObjectReference"


def head_fields(*, metadata: bool = True) -> list[Field]:
    """apiVersion, kind and metadata (protobuf field 1) of a top-level kind."""
    fields = [
        Field("apiVersion", STRING, "Schema version of this object."),
        Field("kind", STRING, "Kind of this object."),
    ]
    if metadata:
        fields.append(Field("metadata", Ref(OBJECT_META), "Standard object metadata.", proto=1))
    return fields


def define_kind(prefix: str, kind: str, gv: tuple[str, str], description: str, fields: list[Field], *,
                with_list: bool = True) -> Ref:
    """A top-level kind's schema (``<prefix>.<kind>``) with its gvk, plus its List."""
    group, version = gv
    ref = define(f"{prefix}.{kind}", description, head_fields() + fields, gvk=(group, version, kind))
    if not with_list:
        return ref
    define(f"{prefix}.{kind}List", f"A list of {kind} objects.", [
        Field("apiVersion", STRING, "Schema version of this object."),
        Field("kind", STRING, "Kind of this object."),
        Field("metadata", Ref(LIST_META), "List metadata.", proto=1),
        Field("items", ArrayOf(ref), f"The {kind} objects.", required=True, proto=2),
    ], gvk=(group, version, kind + "List"))
    return ref


def register(*, group: str, version: str, kind: str, plural: str, namespaced: bool, strategy: Strategy,
             schema: str, short_names: tuple[str, ...] = (), categories: tuple[str, ...] = (),
             subresources: tuple[str, ...] = (), verbs: tuple[str, ...] | None = None) -> ResourceType:
    rt = ResourceType(group, version, kind, plural, kind.lower(), namespaced, strategy, short_names, categories,
                      subresources=subresources, schema=schema)
    if verbs is not None:
        rt.verbs = verbs
    return SCHEME.add(rt)


def conditions_field(ref: str, proto: int, description: str = "Latest observations of the object's state.") -> Field:
    return Field("conditions", ArrayOf(Ref(ref)), description, merge_key="type", strategy="merge",
                 list_type="map", list_map_keys=("type",), proto=proto)


# ------------------------------------------------------------ plain access


def child(obj: Obj, key: str) -> Obj:
    """obj[key] as a dict, created when missing or null."""
    value = obj.get(key)
    if not isinstance(value, dict):
        value = obj[key] = {}
    return value


def spec_of(obj: Obj) -> Obj:
    return child(obj, "spec")


# ------------------------------------------------------------ pod templates


def _pod_module() -> ModuleType | None:
    try:
        return importlib.import_module("pyk8s.api.core_v1.pod")
    except ImportError:
        return None


def default_pod_template(template: Any) -> None:
    """Pod-spec defaults inside a template (``template.spec``)."""
    pod = _pod_module()
    if pod is None or not isinstance(template, dict):
        return
    spec = template.get("spec")
    if isinstance(spec, dict):
        pod.default_pod_spec(spec)


def validate_pod_template(template: Any, path: str) -> list[FieldError]:
    pod = _pod_module()
    if pod is None or not isinstance(template, dict):
        return []
    return list(pod.validate_pod_template_spec(template, path))


# ------------------------------------------------------------ selectors


def selector_of(sel: Any) -> labels.Selector | None:
    """LabelSelectorAsSelector; None when the selector itself is invalid."""
    try:
        return labels.from_label_selector(sel if isinstance(sel, dict) or sel is None else {})
    except (labels.SelectorError, ValueError):
        return None


def selector_matches_template(sel: Any, template: Any, path: str, *, skip_empty: bool = False) -> list[FieldError]:
    """``<path>.metadata.labels: Invalid value: map[...]: `selector` does not match template `labels```."""
    selector = selector_of(sel)
    if selector is None or (skip_empty and selector.empty()):
        return []
    tlabels = ((template or {}).get("metadata") or {}).get("labels") or {}
    if selector.matches(tlabels):
        return []
    return [invalid_go(path + ".metadata.labels", go_string_map(tlabels or None),
                       "`selector` does not match template `labels`")]


def label_selector_string(sel: Any) -> str:
    return labels.to_string(sel)


# ------------------------------------------------------------ Go rendering


def invalid_go(path: str, go_text: str, detail: str) -> FieldError:
    """An Invalid error whose value is already rendered (Go ``%#v``)."""
    return FieldError(INVALID, path, f"{go_text}: {detail}" if detail else go_text)


def go_quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def go_string_map(m: dict[str, Any] | None) -> str:
    if m is None:
        return "map[string]string(nil)"
    items = ", ".join(f"{go_quote(str(k))}:{go_quote(str(v))}" for k, v in sorted(m.items()))
    return "map[string]string{" + items + "}"


def go_string_slice(values: list[Any] | None) -> str:
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(str(v)) for v in values) + "}"


def go_label_selector(sel: Any, pkg: str = "v1") -> str:
    if not isinstance(sel, dict):
        return "<nil>"
    exprs = sel.get("matchExpressions")
    if exprs is None:
        rendered = f"[]{pkg}.LabelSelectorRequirement(nil)"
    else:
        parts = [f"{pkg}.LabelSelectorRequirement{{Key:{go_quote(e.get('key', ''))}, "
                 f"Operator:{go_quote(e.get('operator', ''))}, Values:{go_string_slice(e.get('values'))}}}"
                 for e in exprs]
        rendered = f"[]{pkg}.LabelSelectorRequirement{{" + ", ".join(parts) + "}"
    return f"{pkg}.LabelSelector{{MatchLabels:{go_string_map(sel.get('matchLabels'))}, MatchExpressions:{rendered}}}"


def go_int_or_string(value: Any) -> str:
    if isinstance(value, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(value)}}}"
    return f"intstr.IntOrString{{Type:0, IntVal:{int(value or 0)}, StrVal:\"\"}}"


def immutable(new: Any, old: Any, path: str, *, go_text: str | None = None) -> list[FieldError]:
    """ValidateImmutableField: ``<path>: Invalid value: <new>: field is immutable``."""
    if new == old:
        return []
    if go_text is not None:
        return [invalid_go(path, go_text, "field is immutable")]
    return [invalid(path, new, "field is immutable")]


# ------------------------------------------------------------ numbers


def nonnegative(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


def positive(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
        return [invalid(path, value, "must be greater than zero")]
    return []


_PERCENT = re.compile(r"^[0-9]+%$")
PERCENT_MSG = ("a valid percent string must be a numeric string followed by an ending '%' "
               "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")


def int_or_percent_value(value: Any) -> int | None:
    """The number in ``5`` or ``"5%"`` (None when malformed)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _PERCENT.match(value):
        return int(value[:-1])
    return None


def validate_int_or_percent(value: Any, path: str) -> list[FieldError]:
    """ValidatePositiveIntOrPercent (non-negative ints, well-formed percents)."""
    if isinstance(value, str):
        if not _PERCENT.match(value):
            return [invalid_go(path, go_int_or_string(value), PERCENT_MSG)]
        return []
    return nonnegative(value, path)


def not_more_than_100_percent(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, str) and _PERCENT.match(value) and int(value[:-1]) > 100:
        return [invalid_go(path, go_int_or_string(value), "must not be greater than 100%")]
    return []


def path_segment_errors(name: str, prefix: bool = False) -> list[str]:
    """IsValidPathSegmentName (RBAC names, scale target kinds and names)."""
    if not prefix and name in (".", ".."):
        return [f"may not be '{name}'"]
    errs = []
    for bad in ("/", "%"):
        if bad in name:
            errs.append(f"may not contain '{bad}'")
    return errs
