"""PodTemplates: stored pod templates (rarely used directly, but served)."""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.core_v1.common import P, register_kind
from pyk8s.api.core_v1.pod import POD_TEMPLATE_SPEC, default_pod_spec, validate_pod_template_spec
from pyk8s.machinery.schema import Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError

Obj = dict[str, Any]

define(P + "PodTemplate", "A named pod template.", [
    *meta_v1.type_meta_fields(),
    Field("template", Ref(POD_TEMPLATE_SPEC), "The template."),
], gvk=("", "v1", "PodTemplate"))


class PodTemplateStrategy(Strategy):
    has_status = False

    def default(self, obj: Obj) -> None:
        spec = (obj.get("template") or {}).get("spec")
        if isinstance(spec, dict):
            default_pod_spec(spec)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        return errs + validate_pod_template_spec(obj.get("template"), "template")

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + validate_pod_template_spec(new.get("template"), "template")

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return new.get("template") != old.get("template")


PODTEMPLATES = register_kind(kind="PodTemplate", plural="podtemplates", namespaced=True,
                             strategy=PodTemplateStrategy())
