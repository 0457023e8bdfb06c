"""flowcontrol.apiserver.k8s.io/v1: FlowSchema and PriorityLevelConfiguration (cluster-scoped), the
objects of upstream's API Priority and Fairness (APF).

They are stored, defaulted and validated as upstream does, and the API server creates upstream's
default objects at start (``flowcontrol_v1_defaults.py``: the mandatory ``exempt`` and
``catch-all`` and the suggested ones).  **APF is not enforced**: pyk8s bounds requests with
kube-apiserver's older ``--max-requests-inflight`` / ``--max-mutating-requests-inflight`` limits
(``apiserver/filters/inflight.py``), so these objects change no request's fate.  FlowSchemas'
``Dangling`` condition is kept (``apiserver/flowcontrolstatus.py``); priority levels' conditions are
not.  Creating or changing one answers with a warning saying so.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.kinds import conditions_field, define_kind, register
from pyk8s.machinery.schema import BOOL, INT32, STRING, STRING_LIST, TIME, ArrayOf, Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, not_supported, required

Obj = dict[str, Any]
P = "io.k8s.api.flowcontrol.v1"
GROUP = "flowcontrol.apiserver.k8s.io"
NOT_ENFORCED = ("API Priority and Fairness is not enforced by pyk8s: requests are bounded by "
                "--max-requests-inflight and --max-mutating-requests-inflight instead")
SUBJECT_KINDS = ["Group", "ServiceAccount", "User"]
DISTINGUISHERS = ["ByNamespace", "ByUser"]
PL_TYPES = ["Exempt", "Limited"]
LIMIT_RESPONSES = ["Queue", "Reject"]
FS_MAX_PRECEDENCE = 10000

define(f"{P}.FlowSchemaCondition", "One aspect of a FlowSchema's state.", [
    Field("type", STRING, "The condition's type.", proto=1),
    Field("status", STRING, "True, False or Unknown.", proto=2),
    Field("lastTransitionTime", TIME, "When the status last changed.", proto=3),
    Field("reason", STRING, "Machine-readable reason.", proto=4),
    Field("message", STRING, "Human-readable details.", proto=5),
])
define(f"{P}.PriorityLevelConfigurationCondition", "One aspect of a priority level's state.", [
    Field("type", STRING, "The condition's type.", proto=1),
    Field("status", STRING, "True, False or Unknown.", proto=2),
    Field("lastTransitionTime", TIME, "When the status last changed.", proto=3),
    Field("reason", STRING, "Machine-readable reason.", proto=4),
    Field("message", STRING, "Human-readable details.", proto=5),
])
define(f"{P}.UserSubject", "A user by name.", [Field("name", STRING, "User name (* for all).", required=True, proto=1)])
define(f"{P}.GroupSubject", "A group by name.", [Field("name", STRING, "Group name (* for all).", required=True,
                                                       proto=1)])
define(f"{P}.ServiceAccountSubject", "A service account.", [
    Field("namespace", STRING, "Its namespace.", required=True, proto=1),
    Field("name", STRING, "Its name (* for all in the namespace).", required=True, proto=2),
])
define(f"{P}.Subject", "Who a rule matches.", [
    Field("kind", STRING, "User, Group or ServiceAccount.", required=True, proto=1),
    Field("user", Ref(f"{P}.UserSubject"), "The user.", proto=2),
    Field("group", Ref(f"{P}.GroupSubject"), "The group.", proto=3),
    Field("serviceAccount", Ref(f"{P}.ServiceAccountSubject"), "The service account.", proto=4),
])
define(f"{P}.ResourcePolicyRule", "Resource requests a rule matches.", [
    Field("verbs", STRING_LIST, "Verbs (* for all).", required=True, list_type="set", proto=1),
    Field("apiGroups", STRING_LIST, "API groups (* for all).", required=True, list_type="set", proto=2),
    Field("resources", STRING_LIST, "Resources (* for all).", required=True, list_type="set", proto=3),
    Field("clusterScope", BOOL, "Matches requests outside any namespace.", proto=4),
    Field("namespaces", STRING_LIST, "Namespaces (* for all).", list_type="set", proto=5),
])
define(f"{P}.NonResourcePolicyRule", "Non-resource requests a rule matches.", [
    Field("verbs", STRING_LIST, "Verbs (* for all).", required=True, list_type="set", proto=1),
    Field("nonResourceURLs", STRING_LIST, "Paths, a trailing * as prefix.", required=True, list_type="set",
          proto=6),
])
define(f"{P}.PolicyRulesWithSubjects", "Subjects and the requests of theirs a FlowSchema matches.", [
    Field("subjects", ArrayOf(Ref(f"{P}.Subject")), "Who.", required=True, list_type="atomic", proto=1),
    Field("resourceRules", ArrayOf(Ref(f"{P}.ResourcePolicyRule")), "Resource requests.", list_type="atomic",
          proto=2),
    Field("nonResourceRules", ArrayOf(Ref(f"{P}.NonResourcePolicyRule")), "Non-resource requests.",
          list_type="atomic", proto=3),
])
define(f"{P}.PriorityLevelConfigurationReference", "The priority level a FlowSchema sends requests to.", [
    Field("name", STRING, "Its name.", required=True, proto=1),
])
define(f"{P}.FlowDistinguisherMethod", "How requests are split into flows.", [
    Field("type", STRING, "ByUser or ByNamespace.", required=True, proto=1),
])
define(f"{P}.FlowSchemaSpec", "Which requests the schema matches and where they go.", [
    Field("priorityLevelConfiguration", Ref(f"{P}.PriorityLevelConfigurationReference"), "The priority level.",
          required=True, proto=1),
    Field("matchingPrecedence", INT32, "Lower values are tried first (1 to 10000, default 1000).", proto=2),
    Field("distinguisherMethod", Ref(f"{P}.FlowDistinguisherMethod"), "How flows are told apart.", proto=3),
    Field("rules", ArrayOf(Ref(f"{P}.PolicyRulesWithSubjects")), "The rules.", list_type="atomic", proto=4),
])
define(f"{P}.FlowSchemaStatus", "The schema's state.", [
    conditions_field(f"{P}.FlowSchemaCondition", 1),
])
define_kind(P, "FlowSchema", (GROUP, "v1"), "A class of requests and the priority level they go to.", [
    Field("spec", Ref(f"{P}.FlowSchemaSpec"), "The schema.", proto=2),
    Field("status", Ref(f"{P}.FlowSchemaStatus"), "Its state.", proto=3),
])
define(f"{P}.QueuingConfiguration", "Queuing parameters.", [
    Field("queues", INT32, "Number of queues (default 64).", proto=1),
    Field("handSize", INT32, "Queues a flow is shuffle-sharded onto (default 8).", proto=2),
    Field("queueLengthLimit", INT32, "Requests a queue holds (default 50).", proto=3),
])
define(f"{P}.LimitResponse", "What happens to a request over the limit.", [
    Field("type", STRING, "Queue or Reject.", required=True, proto=1),
    Field("queuing", Ref(f"{P}.QueuingConfiguration"), "Queuing parameters (Queue only).", proto=2),
])
define(f"{P}.LimitedPriorityLevelConfiguration", "A limited priority level's share.", [
    Field("nominalConcurrencyShares", INT32, "Share of the server's concurrency (default 30).", proto=1),
    Field("limitResponse", Ref(f"{P}.LimitResponse"), "Over-limit handling.", proto=2),
    Field("lendablePercent", INT32, "Seats other levels may borrow (0-100).", proto=3),
    Field("borrowingLimitPercent", INT32, "Seats this level may borrow.", proto=4),
])
define(f"{P}.ExemptPriorityLevelConfiguration", "An exempt priority level's share.", [
    Field("nominalConcurrencyShares", INT32, "Share of the server's concurrency.", proto=1),
    Field("lendablePercent", INT32, "Seats other levels may borrow (0-100).", proto=2),
])
define(f"{P}.PriorityLevelConfigurationSpec", "The level's type and parameters.", [
    Field("type", STRING, "Exempt or Limited.", required=True, proto=1),
    Field("limited", Ref(f"{P}.LimitedPriorityLevelConfiguration"), "Limited parameters.", proto=2),
    Field("exempt", Ref(f"{P}.ExemptPriorityLevelConfiguration"), "Exempt parameters.", proto=3),
])
define(f"{P}.PriorityLevelConfigurationStatus", "The level's state.", [
    conditions_field(f"{P}.PriorityLevelConfigurationCondition", 1),
])
define_kind(P, "PriorityLevelConfiguration", (GROUP, "v1"), "A priority level of API Priority and Fairness.", [
    Field("spec", Ref(f"{P}.PriorityLevelConfigurationSpec"), "The level.", proto=2),
    Field("status", Ref(f"{P}.PriorityLevelConfigurationStatus"), "Its state.", proto=3),
])


# --- defaulting --------------------------------------------------------------------------------
def default_flow_schema(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if not spec.get("matchingPrecedence"):
        spec["matchingPrecedence"] = 1000


def default_priority_level(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    limited = spec.get("limited")
    if isinstance(limited, dict):
        if limited.get("nominalConcurrencyShares") is None:
            limited["nominalConcurrencyShares"] = 30
        limited.setdefault("lendablePercent", 0)
        response = limited.get("limitResponse")
        if isinstance(response, dict) and response.get("type") == "Queue":
            queuing = response.setdefault("queuing", {})
            for key, value in (("queues", 64), ("handSize", 8), ("queueLengthLimit", 50)):
                if not queuing.get(key):
                    queuing[key] = value
    exempt = spec.get("exempt")
    if spec.get("type") == "Exempt" or isinstance(exempt, dict):
        exempt = spec.setdefault("exempt", {}) if spec.get("type") == "Exempt" else exempt
        exempt.setdefault("nominalConcurrencyShares", 0)
        exempt.setdefault("lendablePercent", 0)


# --- validation --------------------------------------------------------------------------------
def _subject(subject: Obj, path: str) -> list[FieldError]:
    kind = subject.get("kind")
    member = {"User": "user", "Group": "group", "ServiceAccount": "serviceAccount"}.get(str(kind))
    if not kind:
        return [required(path + ".kind")]
    if member is None:
        return [not_supported(path + ".kind", kind, SUBJECT_KINDS)]
    body = subject.get(member)
    if not isinstance(body, dict):
        return [required(f"{path}.{member}", f"{member} is required when subject kind is '{kind}'")]
    errs: list[FieldError] = []
    if not body.get("name"):
        errs.append(required(f"{path}.{member}.name"))
    if member == "serviceAccount" and not body.get("namespace"):
        errs.append(required(f"{path}.{member}.namespace"))
    return errs


def _rule(rule: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    subjects = rule.get("subjects") or []
    if not subjects:
        errs.append(required(path + ".subjects", "subjects must contain at least one value"))
    for i, subject in enumerate(subjects):
        errs += _subject(subject, f"{path}.subjects[{i}]")
    if not rule.get("resourceRules") and not rule.get("nonResourceRules"):
        errs.append(required(path, "at least one of resourceRules and nonResourceRules has to be non-empty"))
    for i, rr in enumerate(rule.get("resourceRules") or []):
        p = f"{path}.resourceRules[{i}]"
        for key in ("verbs", "apiGroups", "resources"):
            if not rr.get(key):
                errs.append(required(f"{p}.{key}", f"{key} must contain at least one value"))
        if not rr.get("namespaces") and not rr.get("clusterScope"):
            errs.append(required(p + ".namespaces", "resource rules that are not cluster scoped must supply at "
                                                    "least one namespace"))
    for i, nr in enumerate(rule.get("nonResourceRules") or []):
        p = f"{path}.nonResourceRules[{i}]"
        for key in ("verbs", "nonResourceURLs"):
            if not nr.get(key):
                errs.append(required(f"{p}.{key}", f"{key} must contain at least one value"))
    return errs


def validate_flow_schema(obj: Obj) -> list[FieldError]:
    errs = meta_v1.validate_object_meta(obj, namespaced=False)
    spec = obj.get("spec") or {}
    precedence = spec.get("matchingPrecedence")
    if isinstance(precedence, int) and not 0 < precedence <= FS_MAX_PRECEDENCE:
        errs.append(invalid("spec.matchingPrecedence", precedence, f"must be between 1 and {FS_MAX_PRECEDENCE}, "
                                                                      "inclusive"))
    method = (spec.get("distinguisherMethod") or {}).get("type")
    if spec.get("distinguisherMethod") is not None and method not in DISTINGUISHERS:
        errs.append(not_supported("spec.distinguisherMethod.type", method, DISTINGUISHERS))
    pl = (spec.get("priorityLevelConfiguration") or {}).get("name")
    if not pl:
        errs.append(required("spec.priorityLevelConfiguration.name", "must reference a priority level"))
    else:
        errs += [invalid("spec.priorityLevelConfiguration.name", pl, m) for m in names.is_dns1123_subdomain(pl)]
    for i, rule in enumerate(spec.get("rules") or []):
        errs += _rule(rule, f"spec.rules[{i}]")
    return errs


def _percent(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, int) and not 0 <= value <= 100:
        return [invalid(path, value, "must be between 0 and 100, inclusive")]
    return []


def _limited(limited: Obj, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    shares = limited.get("nominalConcurrencyShares")
    if isinstance(shares, int) and shares < 0:
        errs.append(invalid(path + ".nominalConcurrencyShares", shares, "must be a non-negative integer"))
    errs += _percent(limited.get("lendablePercent"), path + ".lendablePercent")
    borrowing = limited.get("borrowingLimitPercent")
    if isinstance(borrowing, int) and borrowing < 0:
        errs.append(invalid(path + ".borrowingLimitPercent", borrowing, "if specified, must be a non-negative "
                                                                         "integer"))
    response = limited.get("limitResponse") or {}
    rtype = response.get("type")
    if rtype not in LIMIT_RESPONSES:
        errs.append(not_supported(path + ".limitResponse.type", rtype, LIMIT_RESPONSES))
    queuing = response.get("queuing")
    if rtype == "Reject" and queuing is not None:
        errs.append(invalid(path + ".limitResponse.queuing", "", "must be nil if limited.limitResponse.type is "
                                                                  "not Limited"))
    if rtype == "Queue" and isinstance(queuing, dict):
        q = path + ".limitResponse.queuing"
        queues, hand = queuing.get("queues", 0), queuing.get("handSize", 0)
        if isinstance(queues, int) and queues <= 0:
            errs.append(invalid(q + ".queues", queues, "must be positive"))
        if isinstance(queuing.get("queueLengthLimit"), int) and queuing["queueLengthLimit"] <= 0:
            errs.append(invalid(q + ".queueLengthLimit", queuing["queueLengthLimit"], "must be positive"))
        if isinstance(hand, int) and isinstance(queues, int) and hand > queues:
            errs.append(invalid(q + ".handSize", hand, f"should not be greater than queues ({queues})"))
    return errs


def validate_priority_level(obj: Obj) -> list[FieldError]:
    errs = meta_v1.validate_object_meta(obj, namespaced=False)
    spec = obj.get("spec") or {}
    ptype = spec.get("type")
    if ptype not in PL_TYPES:
        return errs + [not_supported("spec.type", ptype, PL_TYPES)]
    if ptype == "Limited":
        if spec.get("exempt") is not None:
            errs.append(FieldError(("FieldValueForbidden", "Forbidden"), "spec.exempt",
                                   "must be nil if the type is Limited"))
        if not isinstance(spec.get("limited"), dict):
            errs.append(required("spec.limited", "must not be empty when type is Limited"))
        else:
            errs += _limited(spec["limited"], "spec.limited")
    else:
        if spec.get("limited") is not None:
            errs.append(FieldError(("FieldValueForbidden", "Forbidden"), "spec.limited",
                                   "must be nil if the type is not Limited"))
        exempt = spec.get("exempt") or {}
        shares = exempt.get("nominalConcurrencyShares")
        if isinstance(shares, int) and shares < 0:
            errs.append(invalid("spec.exempt.nominalConcurrencyShares", shares, "must be a non-negative integer"))
        errs += _percent(exempt.get("lendablePercent"), "spec.exempt.lendablePercent")
    return errs


class _APFStrategy(Strategy):
    def warnings(self, obj: Obj) -> list[str]:
        return [NOT_ENFORCED]


class FlowSchemaStrategy(_APFStrategy):
    def default(self, obj: Obj) -> None:
        default_flow_schema(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_flow_schema(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + [e for e in validate_flow_schema(new) if not e.field.startswith("metadata.")]


class PriorityLevelStrategy(_APFStrategy):
    def default(self, obj: Obj) -> None:
        default_priority_level(obj)

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_priority_level(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + [e for e in validate_priority_level(new) if not e.field.startswith("metadata.")]


register(group=GROUP, version="v1", kind="FlowSchema", plural="flowschemas", namespaced=False,
         strategy=FlowSchemaStrategy(), schema=f"{P}.FlowSchema", subresources=("status",))
register(group=GROUP, version="v1", kind="PriorityLevelConfiguration", plural="prioritylevelconfigurations",
         namespaced=False, strategy=PriorityLevelStrategy(), schema=f"{P}.PriorityLevelConfiguration",
         subresources=("status",))
