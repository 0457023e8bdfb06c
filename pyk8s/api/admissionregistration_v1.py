"""admissionregistration.k8s.io/v1: MutatingWebhookConfiguration and ValidatingWebhookConfiguration.

Both are cluster-scoped lists of webhooks the admission chain calls (``pyk8s/apiserver/webhooks/``).
Defaults and validation follow upstream's v1 (``pkg/apis/admissionregistration``): failurePolicy Fail,
matchPolicy Equivalent, empty selectors, timeoutSeconds 10, reinvocationPolicy Never, rule scope ``*``,
service port 443; sideEffects and admissionReviewVersions are required.  ValidatingAdmissionPolicy and its
binding are not served (pyk8s leaves them out: requests for them get 404 as for any unknown resource).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pyk8s.api import meta_v1, names
from pyk8s.api.kinds import LABEL_SELECTOR, define_kind, register
from pyk8s.machinery import celexpr
from pyk8s.machinery.schema import BYTES, INT32, STRING, STRING_LIST, ArrayOf, Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, duplicate, invalid, not_supported, required, too_long

Obj = dict[str, Any]
P = "io.k8s.api.admissionregistration.v1"
GROUP = "admissionregistration.k8s.io"

OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"]
SCOPES = ["*", "Cluster", "Namespaced"]
FAILURE_POLICIES = ["Fail", "Ignore"]
MATCH_POLICIES = ["Equivalent", "Exact"]
SIDE_EFFECTS = ["None", "NoneOnDryRun"]
REINVOCATION_POLICIES = ["IfNeeded", "Never"]
REVIEW_VERSIONS = ["v1", "v1beta1"]
MAX_MATCH_CONDITIONS = 64

define(f"{P}.ServiceReference", "The Service a webhook is reached through.", [
    Field("namespace", STRING, "Namespace of the service.", required=True, proto=1),
    Field("name", STRING, "Name of the service.", required=True, proto=2),
    Field("path", STRING, "URL path sent in requests to the service.", proto=3),
    Field("port", INT32, "Port on the service (default 443).", proto=4),
])
define(f"{P}.WebhookClientConfig", "How to reach a webhook: a URL or a Service, and the CA to trust.", [
    Field("url", STRING, "https URL of the webhook.", proto=3),
    Field("service", Ref(f"{P}.ServiceReference"), "Service of the webhook.", proto=1),
    Field("caBundle", BYTES, "PEM CA bundle that verifies the webhook's serving certificate.", proto=2),
])
define(f"{P}.RuleWithOperations", "Operations and resources a webhook is called for.", [
    Field("operations", STRING_LIST, "CREATE, UPDATE, DELETE, CONNECT or *.", list_type="atomic", proto=1),
    Field("apiGroups", STRING_LIST, "API groups; * is all.", list_type="atomic"),
    Field("apiVersions", STRING_LIST, "API versions; * is all.", list_type="atomic"),
    Field("resources", STRING_LIST, "Resources (resource/subresource, */*, ...).", list_type="atomic"),
    Field("scope", STRING, "Cluster, Namespaced or * (the default)."),
])
define(f"{P}.MatchCondition", "A CEL expression that must hold for the webhook to be called.", [
    Field("name", STRING, "Name of the condition.", required=True, proto=1),
    Field("expression", STRING, "CEL expression over object, oldObject, request, authorizer.", required=True,
          proto=2),
])

_COMMON = [
    Field("name", STRING, "Fully qualified name of the webhook.", required=True, proto=1),
    Field("clientConfig", Ref(f"{P}.WebhookClientConfig"), "How to reach the webhook.", required=True, proto=2),
    Field("rules", ArrayOf(Ref(f"{P}.RuleWithOperations")), "What the webhook is called for.",
          list_type="atomic", proto=3),
    Field("failurePolicy", STRING, "Fail (the default) or Ignore when the call fails.", proto=4),
    Field("matchPolicy", STRING, "Exact or Equivalent (the default).", proto=9),
    Field("namespaceSelector", Ref(LABEL_SELECTOR), "Namespaces whose objects are sent.", proto=5),
    Field("objectSelector", Ref(LABEL_SELECTOR), "Objects sent, by label.", proto=10),
    Field("sideEffects", STRING, "None or NoneOnDryRun.", required=True, proto=6),
    Field("timeoutSeconds", INT32, "Call timeout, 1 to 30 seconds (default 10).", proto=7),
    Field("admissionReviewVersions", STRING_LIST, "AdmissionReview versions the webhook accepts.",
          required=True, list_type="atomic", proto=8),
    Field("matchConditions", ArrayOf(Ref(f"{P}.MatchCondition")), "CEL conditions, all must hold.",
          merge_key="name", strategy="merge", list_type="map", list_map_keys=("name",), proto=12),
]
define(f"{P}.MutatingWebhook", "A mutating admission webhook.", _COMMON + [
    Field("reinvocationPolicy", STRING, "Never (the default) or IfNeeded.", proto=11),
])
define(f"{P}.ValidatingWebhook", "A validating admission webhook.", list(_COMMON))
for _kind, _hook in (("MutatingWebhookConfiguration", "MutatingWebhook"),
                     ("ValidatingWebhookConfiguration", "ValidatingWebhook")):
    define_kind(P, _kind, (GROUP, "v1"), f"Webhooks that admission calls ({_hook}s).", [
        Field("webhooks", ArrayOf(Ref(f"{P}.{_hook}")), "The webhooks.", merge_key="name", strategy="merge",
              list_type="map", list_map_keys=("name",), proto=2),
    ])


# ------------------------------------------------------------------ defaults


def default_webhook(hook: Obj, *, mutating: bool) -> None:
    hook.setdefault("failurePolicy", "Fail")
    hook.setdefault("matchPolicy", "Equivalent")
    if hook.get("namespaceSelector") is None:
        hook["namespaceSelector"] = {}
    if hook.get("objectSelector") is None:
        hook["objectSelector"] = {}
    hook.setdefault("timeoutSeconds", 10)
    if mutating:
        hook.setdefault("reinvocationPolicy", "Never")
    for rule in hook.get("rules") or []:
        if isinstance(rule, dict) and rule.get("scope") is None:
            rule["scope"] = "*"
    service = (hook.get("clientConfig") or {}).get("service")
    if isinstance(service, dict) and service.get("port") is None:
        service["port"] = 443


# ------------------------------------------------------------------ validation


def _validate_names(values: Any, path: str) -> list[FieldError]:
    if not isinstance(values, list) or not values:
        return [required(path, "")]
    return []


def validate_rule(rule: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    ops = rule.get("operations")
    if not ops:
        errs.append(required(f"{path}.operations", ""))
    else:
        if "*" in ops and len(ops) > 1:
            errs.append(invalid(f"{path}.operations", ops, "if '*' is present, must not specify other operations"))
        for i, op in enumerate(ops):
            if op not in OPERATIONS:
                errs.append(not_supported(f"{path}.operations[{i}]", op, OPERATIONS))
    for key in ("apiGroups", "apiVersions"):
        values = rule.get(key)
        errs += _validate_names(values, f"{path}.{key}")
        if isinstance(values, list) and "*" in values and len(values) > 1:
            errs.append(invalid(f"{path}.{key}", values, "if '*' is present, must not specify other API "
                                f"{'groups' if key == 'apiGroups' else 'versions'}"))
        for i, v in enumerate(values or []):
            if key == "apiVersions" and v == "":
                errs.append(required(f"{path}.{key}[{i}]", "version must not be empty"))
    errs += _validate_resources(rule.get("resources"), f"{path}.resources")
    scope = rule.get("scope")
    if scope is not None and scope not in SCOPES:
        errs.append(not_supported(f"{path}.scope", scope, SCOPES))
    return errs


def _validate_resources(resources: Any, path: str) -> list[FieldError]:
    if not resources:
        return [required(path, "")]
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, res in enumerate(resources):
        if res == "":
            errs.append(required(f"{path}[{i}]", ""))
            continue
        if res in seen:
            errs.append(duplicate(f"{path}[{i}]", res))
        seen.add(res)
        if "/" in res and res.split("/", 1)[0] == "":
            errs.append(invalid(f"{path}[{i}]", res, "must not be empty"))
    if "*" in resources and len(resources) > 1:
        errs.append(invalid(path, resources, "if '*' is present, must not specify other resources without "
                                             "subresources"))
    if "*/*" in resources and len(resources) > 1:
        errs.append(invalid(path, resources, "if '*/*' is present, must not specify other resources"))
    return errs


def validate_client_config(cc: Any, path: str) -> list[FieldError]:
    if not isinstance(cc, dict) or (bool(cc.get("url")) == bool(cc.get("service"))):
        return [required(path, "exactly one of url or service is required")]
    errs: list[FieldError] = []
    if cc.get("url"):
        url = str(cc["url"])
        parts = urlsplit(url)
        if parts.scheme != "https":
            errs.append(invalid(f"{path}.url", parts.scheme, "'https' is the only allowed URL scheme"))
        if not parts.hostname:
            errs.append(invalid(f"{path}.url", parts.netloc, "host must be specified"))
        if parts.username or parts.password:
            errs.append(invalid(f"{path}.url", parts.username, "user information is not permitted in the URL"))
        if parts.fragment:
            errs.append(invalid(f"{path}.url", parts.fragment, "fragments are not permitted in the URL"))
        if parts.query:
            errs.append(invalid(f"{path}.url", parts.query, "query parameters are not permitted in the URL"))
        return errs
    svc = cc["service"]
    if not svc.get("name"):
        errs.append(required(f"{path}.service.name", "service name is required"))
    if not svc.get("namespace"):
        errs.append(required(f"{path}.service.namespace", "service namespace is required"))
    port = svc.get("port")
    if isinstance(port, int) and not 1 <= port <= 65535:
        errs.append(invalid(f"{path}.service.port", port, "port is not valid: must be between 1 and 65535, "
                                                          "inclusive"))
    spath = svc.get("path")
    if spath:
        if not str(spath).startswith("/"):
            errs.append(invalid(f"{path}.service.path", spath, "must start with a '/'"))
    return errs


def validate_match_conditions(conds: Any, path: str) -> list[FieldError]:
    if not conds:
        return []
    errs: list[FieldError] = []
    if len(conds) > MAX_MATCH_CONDITIONS:
        errs.append(too_long(path, MAX_MATCH_CONDITIONS))
    seen: set[str] = set()
    for i, cond in enumerate(conds):
        p = f"{path}[{i}]"
        name = cond.get("name") or ""
        if not name:
            errs.append(required(f"{p}.name", ""))
        else:
            for msg in names.is_qualified_name(name):
                errs.append(invalid(f"{p}.name", name, msg))
            if name in seen:
                errs.append(duplicate(f"{p}.name", name))
            seen.add(name)
        expr = cond.get("expression") or ""
        if not expr:
            errs.append(required(f"{p}.expression", ""))
        else:
            problem = celexpr.compile_problem(expr)
            if problem:
                errs.append(invalid(f"{p}.expression", expr, f"compilation failed: {problem}"))
    return errs


def validate_webhook(hook: Obj, path: str, *, mutating: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    name = hook.get("name") or ""
    if not name:
        errs.append(required(f"{path}.name", ""))
    else:
        for msg in names.is_dns1123_subdomain(name):
            errs.append(invalid(f"{path}.name", name, msg))
        if len(name.split(".")) < 3:
            errs.append(invalid(f"{path}.name", name, "should be a domain with at least three segments "
                                                      "separated by dots"))
    for i, rule in enumerate(hook.get("rules") or []):
        errs += validate_rule(rule if isinstance(rule, dict) else {}, f"{path}.rules[{i}]")
    for key, allowed in (("failurePolicy", FAILURE_POLICIES), ("matchPolicy", MATCH_POLICIES)):
        if hook.get(key) is not None and hook[key] not in allowed:
            errs.append(not_supported(f"{path}.{key}", hook[key], allowed))
    side = hook.get("sideEffects")
    if side is None:
        errs.append(required(f"{path}.sideEffects", f"must specify one of {', '.join(SIDE_EFFECTS)}"))
    elif side not in SIDE_EFFECTS:
        errs.append(not_supported(f"{path}.sideEffects", side, SIDE_EFFECTS))
    timeout = hook.get("timeoutSeconds")
    if isinstance(timeout, int) and not 1 <= timeout <= 30:
        errs.append(invalid(f"{path}.timeoutSeconds", timeout, "the timeout value must be between 1 and 30 "
                                                               "seconds"))
    errs += _validate_review_versions(hook.get("admissionReviewVersions"), f"{path}.admissionReviewVersions")
    for key in ("namespaceSelector", "objectSelector"):
        if isinstance(hook.get(key), dict):
            errs += meta_v1.validate_label_selector(hook[key], f"{path}.{key}")
    if mutating and hook.get("reinvocationPolicy") is not None and \
            hook["reinvocationPolicy"] not in REINVOCATION_POLICIES:
        errs.append(not_supported(f"{path}.reinvocationPolicy", hook["reinvocationPolicy"], REINVOCATION_POLICIES))
    errs += validate_client_config(hook.get("clientConfig"), f"{path}.clientConfig")
    errs += validate_match_conditions(hook.get("matchConditions"), f"{path}.matchConditions")
    return errs


def _validate_review_versions(versions: Any, path: str) -> list[FieldError]:
    if not versions:
        return [required(path, f"must specify one of {', '.join(REVIEW_VERSIONS)}")]
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, v in enumerate(versions):
        if v in seen:
            errs.append(invalid(f"{path}[{i}]", v, "duplicate version"))
        seen.add(v)
        for msg in names.is_dns1123_label(v):
            errs.append(invalid(f"{path}[{i}]", v, msg))
    if not any(v in REVIEW_VERSIONS for v in versions):
        errs.append(invalid(path, versions, f"must include at least one of {', '.join(REVIEW_VERSIONS)}"))
    return errs


def validate_configuration(obj: Obj, *, mutating: bool) -> list[FieldError]:
    errs = meta_v1.validate_object_meta(obj, namespaced=False)
    seen: set[str] = set()
    for i, hook in enumerate(obj.get("webhooks") or []):
        if not isinstance(hook, dict):
            continue
        errs += validate_webhook(hook, f"webhooks[{i}]", mutating=mutating)
        name = hook.get("name") or ""
        if name and name in seen:
            errs.append(duplicate(f"webhooks[{i}].name", name))
        seen.add(name)
    return errs


class WebhookConfigurationStrategy(Strategy):
    has_status = False

    def __init__(self, *, mutating: bool) -> None:
        self.mutating = mutating

    def default(self, obj: Obj) -> None:
        for hook in obj.get("webhooks") or []:
            if isinstance(hook, dict):
                default_webhook(hook, mutating=self.mutating)

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        return new.get("webhooks") != old.get("webhooks")

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_configuration(obj, mutating=self.mutating)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + [e for e in validate_configuration(new, mutating=self.mutating)
                       if not e.field.startswith("metadata")]


register(group=GROUP, version="v1", kind="MutatingWebhookConfiguration", plural="mutatingwebhookconfigurations",
         namespaced=False, strategy=WebhookConfigurationStrategy(mutating=True),
         schema=f"{P}.MutatingWebhookConfiguration", categories=("api-extensions",))
register(group=GROUP, version="v1", kind="ValidatingWebhookConfiguration",
         plural="validatingwebhookconfigurations", namespaced=False,
         strategy=WebhookConfigurationStrategy(mutating=False), schema=f"{P}.ValidatingWebhookConfiguration",
         categories=("api-extensions",))
