"""authorization.k8s.io/v1 access reviews and authentication.k8s.io/v1
token/identity reviews.

These are questions, not stored objects: clients POST one and get it back
with ``status`` filled in (``kubectl auth can-i``, ``auth whoami``, ``create
token``).  So they register with the single verb ``create``; the API server
answers them from its authenticator/authorizer rather than the generic
store.  The strategies here only validate the request.  ``TokenRequest`` is
the body of the ``serviceaccounts/token`` subresource and has no resource of
its own.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api.kinds import define_kind, register
from pyk8s.machinery.schema import (
    BOOL,
    INT64,
    STRING,
    STRING_LIST,
    TIME,
    ArrayOf,
    Field,
    MapOf,
    Ref,
    define,
)
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid

Obj = dict[str, Any]
AZ = "io.k8s.api.authorization.v1"
AN = "io.k8s.api.authentication.v1"
AZ_GV = ("authorization.k8s.io", "v1")
AN_GV = ("authentication.k8s.io", "v1")

# ---------------------------------------------------------------- authorization

define(f"{AZ}.FieldSelectorRequirement", "One field selector term.", [
    Field("key", STRING, "Field path.", required=True, proto=1),
    Field("operator", STRING, "In, NotIn, Exists or DoesNotExist.", required=True, proto=2),
    Field("values", STRING_LIST, "Values compared against.", list_type="atomic", proto=3),
])
define(f"{AZ}.FieldSelectorAttributes", "A field selector the request is limited by.", [
    Field("rawSelector", STRING, "The selector as sent in a query string.", proto=1),
    Field("requirements", ArrayOf(Ref(f"{AZ}.FieldSelectorRequirement")), "The parsed terms.",
          list_type="atomic", proto=2),
])
define(f"{AZ}.LabelSelectorAttributes", "A label selector the request is limited by.", [
    Field("rawSelector", STRING, "The selector as sent in a query string.", proto=1),
    Field("requirements", ArrayOf(Ref("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement")),
          "The parsed terms.", list_type="atomic", proto=2),
])
define(f"{AZ}.ResourceAttributes", "A request on an API resource.", [
    Field("namespace", STRING, "Namespace of the request ('' = all namespaces or cluster-scoped).", proto=1),
    Field("verb", STRING, "get, list, create, ... or '*'.", proto=2),
    Field("group", STRING, "API group ('*' = all).", proto=3),
    Field("version", STRING, "API version ('*' = all).", proto=4),
    Field("resource", STRING, "Resource ('*' = all).", proto=5),
    Field("subresource", STRING, "Subresource, if any.", proto=6),
    Field("name", STRING, "Object name ('' = all).", proto=7),
    Field("fieldSelector", Ref(f"{AZ}.FieldSelectorAttributes"), "Field selector of the request.", proto=8),
    Field("labelSelector", Ref(f"{AZ}.LabelSelectorAttributes"), "Label selector of the request.", proto=9),
])
define(f"{AZ}.NonResourceAttributes", "A request on a non-resource URL.", [
    Field("path", STRING, "URL path.", proto=1),
    Field("verb", STRING, "HTTP verb in lower case.", proto=2),
])
_ATTRS = [
    Field("resourceAttributes", Ref(f"{AZ}.ResourceAttributes"), "Set for resource requests.", proto=1),
    Field("nonResourceAttributes", Ref(f"{AZ}.NonResourceAttributes"), "Set for non-resource requests.", proto=2),
]
define(f"{AZ}.SubjectAccessReviewSpec", "A request and who makes it.", _ATTRS + [
    Field("user", STRING, "User to check.", proto=3),
    Field("groups", STRING_LIST, "Groups of the user.", list_type="atomic", proto=4),
    Field("extra", MapOf(STRING_LIST), "Extra user attributes.", proto=5),
    Field("uid", STRING, "UID of the user.", proto=6),
])
define(f"{AZ}.SelfSubjectAccessReviewSpec", "A request made by the caller.", _ATTRS)
define(f"{AZ}.SubjectAccessReviewStatus", "The authorizer's answer.", [
    Field("allowed", BOOL, "The request is allowed.", required=True, proto=1),
    Field("denied", BOOL, "The request is explicitly denied.", proto=4),
    Field("reason", STRING, "Why.", proto=2),
    Field("evaluationError", STRING, "Problem met while deciding.", proto=3),
])
define(f"{AZ}.SelfSubjectRulesReviewSpec", "Which namespace to list rules for.", [
    Field("namespace", STRING, "The namespace.", proto=1),
])
define(f"{AZ}.ResourceRule", "Allowed verbs on some resources.", [
    Field("verbs", STRING_LIST, "Verbs.", required=True, list_type="atomic", proto=1),
    Field("apiGroups", STRING_LIST, "API groups.", list_type="atomic", proto=2),
    Field("resources", STRING_LIST, "Resources.", list_type="atomic", proto=3),
    Field("resourceNames", STRING_LIST, "Object names.", list_type="atomic", proto=4),
])
define(f"{AZ}.NonResourceRule", "Allowed verbs on some URLs.", [
    Field("verbs", STRING_LIST, "Verbs.", required=True, list_type="atomic", proto=1),
    Field("nonResourceURLs", STRING_LIST, "URL paths.", list_type="atomic", proto=2),
])
define(f"{AZ}.SubjectRulesReviewStatus", "What the caller may do (possibly incomplete).", [
    Field("resourceRules", ArrayOf(Ref(f"{AZ}.ResourceRule")), "Rules on resources.", required=True,
          list_type="atomic", proto=1),
    Field("nonResourceRules", ArrayOf(Ref(f"{AZ}.NonResourceRule")), "Rules on URLs.", required=True,
          list_type="atomic", proto=2),
    Field("incomplete", BOOL, "Some authorizer could not list its rules.", required=True, proto=3),
    Field("evaluationError", STRING, "Problem met while listing.", proto=4),
])
_SAR_STATUS = Field("status", Ref(f"{AZ}.SubjectAccessReviewStatus"), "The answer.", proto=3)
define_kind(AZ, "SubjectAccessReview", AZ_GV, "May this user do this?", [
    Field("spec", Ref(f"{AZ}.SubjectAccessReviewSpec"), "The question.", required=True, proto=2), _SAR_STATUS], with_list=False)
define_kind(AZ, "LocalSubjectAccessReview", AZ_GV, "May this user do this in this namespace?", [
    Field("spec", Ref(f"{AZ}.SubjectAccessReviewSpec"), "The question.", required=True, proto=2), _SAR_STATUS], with_list=False)
define_kind(AZ, "SelfSubjectAccessReview", AZ_GV, "May I do this?", [
    Field("spec", Ref(f"{AZ}.SelfSubjectAccessReviewSpec"), "The question.", required=True, proto=2), _SAR_STATUS], with_list=False)
define_kind(AZ, "SelfSubjectRulesReview", AZ_GV, "What may I do in this namespace?", [
    Field("spec", Ref(f"{AZ}.SelfSubjectRulesReviewSpec"), "The question.", required=True, proto=2),
    Field("status", Ref(f"{AZ}.SubjectRulesReviewStatus"), "The answer.", proto=3),
], with_list=False)

# ---------------------------------------------------------------- authentication

define(f"{AN}.UserInfo", "An authenticated identity.", [
    Field("username", STRING, "User name.", proto=1),
    Field("uid", STRING, "Stable user id.", proto=2),
    Field("groups", STRING_LIST, "Groups.", list_type="atomic", proto=3),
    Field("extra", MapOf(STRING_LIST), "Extra attributes.", proto=4),
])
define(f"{AN}.TokenReviewSpec", "The token to check.", [
    Field("token", STRING, "The bearer token.", proto=1),
    Field("audiences", STRING_LIST, "Audiences the token must be valid for.", list_type="atomic", proto=2),
])
define(f"{AN}.TokenReviewStatus", "Who the token belongs to.", [
    Field("authenticated", BOOL, "The token is valid.", proto=1),
    Field("user", Ref(f"{AN}.UserInfo"), "The identity.", proto=2),
    Field("audiences", STRING_LIST, "Audiences the token is valid for.", list_type="atomic", proto=4),
    Field("error", STRING, "Why the token was not accepted.", proto=3),
])
define_kind(AN, "TokenReview", AN_GV, "Who does this token belong to?", [
    Field("spec", Ref(f"{AN}.TokenReviewSpec"), "The question.", required=True, proto=2),
    Field("status", Ref(f"{AN}.TokenReviewStatus"), "The answer.", proto=3),
], with_list=False)
define(f"{AN}.SelfSubjectReviewStatus", "The caller's identity.", [
    Field("userInfo", Ref(f"{AN}.UserInfo"), "The identity.", proto=1),
])
define_kind(AN, "SelfSubjectReview", AN_GV, "Who am I?", [
    Field("status", Ref(f"{AN}.SelfSubjectReviewStatus"), "The answer.", proto=2),
], with_list=False)
define(f"{AN}.BoundObjectReference", "An object the token's life is tied to.", [
    Field("kind", STRING, "Pod, Secret or Node.", proto=1),
    Field("apiVersion", STRING, "API version of the object.", proto=2),
    Field("name", STRING, "Name of the object.", proto=3),
    Field("uid", STRING, "UID of the object.", proto=4),
])
define(f"{AN}.TokenRequestSpec", "The token wanted.", [
    Field("audiences", STRING_LIST, "Intended audiences.", required=True, list_type="atomic", proto=1),
    Field("expirationSeconds", INT64, "Requested lifetime.", proto=4),
    Field("boundObjectRef", Ref(f"{AN}.BoundObjectReference"), "Object the token is bound to.", proto=3),
])
define(f"{AN}.TokenRequestStatus", "The issued token.", [
    Field("token", STRING, "The token.", required=True, proto=1),
    Field("expirationTimestamp", TIME, "When it expires.", required=True, proto=2),
])
define_kind(AN, "TokenRequest", AN_GV, "Asks for a service account token.", [
    Field("spec", Ref(f"{AN}.TokenRequestSpec"), "The request.", required=True, proto=2),
    Field("status", Ref(f"{AN}.TokenRequestStatus"), "The token.", proto=3),
], with_list=False)

# ---------------------------------------------------------------- validation


def _meta_extras(obj: Obj, allowed: tuple[str, ...] = ()) -> Obj:
    meta = obj.get("metadata") or {}
    return {k: v for k, v in meta.items() if v not in (None, "", {}, []) and k not in allowed + ("managedFields",)}


def validate_attributes(spec: Obj, path: str) -> list[FieldError]:
    res, non = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if res is not None and non is not None:
        return [invalid(path + ".nonResourceAttributes", non,
                        "cannot be specified in combination with resourceAttributes")]
    if res is None and non is None:
        return [invalid(path + ".resourceAttributes", None,
                        "exactly one of nonResourceAttributes or resourceAttributes must be specified")]
    return []


class ReviewStrategy(Strategy):
    """Create-only question kinds: nothing is stored, so no status or generation."""

    has_status = False
    tracks_generation = False
    kind = ""

    def prepare_for_create(self, obj: Obj) -> None:
        obj.pop("status", None)

    def validate(self, obj: Obj) -> list[FieldError]:
        return []


class SelfSubjectAccessReviewStrategy(ReviewStrategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        errs = [invalid("metadata", obj.get("metadata"), "must be empty")] if _meta_extras(obj) else []
        return errs + validate_attributes(obj.get("spec") or {}, "spec")


class SubjectAccessReviewStrategy(ReviewStrategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        errs = [invalid("metadata", obj.get("metadata"), "must be empty")] if _meta_extras(obj) else []
        spec = obj.get("spec") or {}
        errs += validate_attributes(spec, "spec")
        if not spec.get("user") and not spec.get("groups"):
            errs.append(invalid("spec.user", spec.get("user", ""), "at least one of user or group must be specified"))
        return errs


class LocalSubjectAccessReviewStrategy(ReviewStrategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        errs: list[FieldError] = []
        if _meta_extras(obj, ("namespace",)):
            errs.append(invalid("metadata", obj.get("metadata"), "must be empty except for namespace"))
        spec = obj.get("spec") or {}
        errs += validate_attributes(spec, "spec")
        if not spec.get("user") and not spec.get("groups"):
            errs.append(invalid("spec.user", spec.get("user", ""), "at least one of user or group must be specified"))
        namespace = (obj.get("metadata") or {}).get("namespace", "")
        res = spec.get("resourceAttributes")
        if isinstance(res, dict) and res.get("namespace", "") != namespace:
            errs.append(invalid("spec.resourceAttributes.namespace", res.get("namespace", ""),
                                "must match metadata.namespace"))
        if spec.get("nonResourceAttributes") is not None:
            errs.append(invalid("spec.nonResourceAttributes", spec["nonResourceAttributes"],
                                "disallowed on this kind of request"))
        return errs


_CREATE = ("create",)
for _kind, _plural, _ns, _strategy in (
    ("LocalSubjectAccessReview", "localsubjectaccessreviews", True, LocalSubjectAccessReviewStrategy()),
    ("SelfSubjectAccessReview", "selfsubjectaccessreviews", False, SelfSubjectAccessReviewStrategy()),
    ("SelfSubjectRulesReview", "selfsubjectrulesreviews", False, ReviewStrategy()),
    ("SubjectAccessReview", "subjectaccessreviews", False, SubjectAccessReviewStrategy()),
):
    register(group="authorization.k8s.io", version="v1", kind=_kind, plural=_plural, namespaced=_ns,
             strategy=_strategy, schema=f"{AZ}.{_kind}", verbs=_CREATE)
for _kind, _plural in (("SelfSubjectReview", "selfsubjectreviews"), ("TokenReview", "tokenreviews")):
    register(group="authentication.k8s.io", version="v1", kind=_kind, plural=_plural, namespaced=False,
             strategy=ReviewStrategy(), schema=f"{AN}.{_kind}", verbs=_CREATE)
