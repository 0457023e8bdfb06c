"""apiregistration.k8s.io/v1: APIService, one group-version and where it is served.

A ``Local`` APIService (no ``spec.service``) is served by the API server itself; the aggregator keeps one
for every built-in group-version (``local_apiservice``), as kube-apiserver's autoregistration does.  Others
name the Service of an extension API server the aggregator proxies to (``pyk8s/apiserver/aggregator``),
whose ``Available`` condition the availability controller maintains.  Validation is upstream's.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1, names
from pyk8s.api.kinds import define_kind, path_segment_errors, register
from pyk8s.machinery.schema import BOOL, BYTES, INT32, STRING, TIME, ArrayOf, Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, required

Obj = dict[str, Any]
P = "io.k8s.kube-aggregator.pkg.apis.apiregistration.v1"
GROUP = "apiregistration.k8s.io"

# kube-aggregator's priorities for the built-in group-versions (group minimum, version priority).
PRIORITIES: dict[tuple[str, str], tuple[int, int]] = {
    ("", "v1"): (18000, 1), ("apiregistration.k8s.io", "v1"): (18000, 15), ("apps", "v1"): (17800, 15),
    ("events.k8s.io", "v1"): (17750, 15), ("authentication.k8s.io", "v1"): (17700, 15),
    ("authorization.k8s.io", "v1"): (17600, 15), ("autoscaling", "v1"): (17500, 15),
    ("autoscaling", "v2"): (17500, 30), ("batch", "v1"): (17400, 15), ("certificates.k8s.io", "v1"): (17300, 15),
    ("networking.k8s.io", "v1"): (17200, 15), ("policy", "v1"): (17100, 15),
    ("rbac.authorization.k8s.io", "v1"): (17000, 15), ("storage.k8s.io", "v1"): (16800, 15),
    ("admissionregistration.k8s.io", "v1"): (16700, 15), ("apiextensions.k8s.io", "v1"): (16700, 15),
    ("scheduling.k8s.io", "v1"): (16600, 15), ("coordination.k8s.io", "v1"): (16500, 15),
    ("node.k8s.io", "v1"): (16300, 15), ("discovery.k8s.io", "v1"): (16200, 15),
    ("flowcontrol.apiserver.k8s.io", "v1"): (16100, 21),
}
CRD_PRIORITY = (1000, 100)  # what upstream's CRD registration gives a custom group-version

define(f"{P}.ServiceReference", "The Service an APIService is served by.", [
    Field("namespace", STRING, "Namespace of the service.", proto=1),
    Field("name", STRING, "Name of the service.", proto=2),
    Field("port", INT32, "Port on the service (default 443).", proto=3),
])
define(f"{P}.APIServiceSpec", "Where a group-version is served and how it is trusted.", [
    Field("service", Ref(f"{P}.ServiceReference"), "The extension server's Service; empty for local.", proto=1),
    Field("group", STRING, "API group name.", proto=2),
    Field("version", STRING, "API version.", proto=3),
    Field("insecureSkipTLSVerify", BOOL, "Do not verify the extension server's certificate.", proto=4),
    Field("caBundle", BYTES, "PEM CA bundle that verifies the extension server's certificate.", proto=5),
    Field("groupPriorityMinimum", INT32, "Priority of the group (at least this).", required=True, proto=7),
    Field("versionPriority", INT32, "Order of this version within its group.", required=True, proto=8),
])
define(f"{P}.APIServiceCondition", "One observation of an APIService.", [
    Field("type", STRING, "Available.", required=True, proto=1),
    Field("status", STRING, "True, False or Unknown.", required=True, proto=2),
    Field("lastTransitionTime", TIME, "When the status last changed.",
          proto=3),
    Field("reason", STRING, "CamelCase reason.", proto=4),
    Field("message", STRING, "Human-readable details.", proto=5),
])
define(f"{P}.APIServiceStatus", "The observed state of an APIService.", [
    Field("conditions", ArrayOf(Ref(f"{P}.APIServiceCondition")), "Current conditions.", merge_key="type",
          strategy="merge", list_type="map", list_map_keys=("type",), proto=1),
])
define_kind(P, "APIService", (GROUP, "v1"), "A group-version and the server that serves it.", [
    Field("spec", Ref(f"{P}.APIServiceSpec"), "Where the group-version is served.", proto=2),
    Field("status", Ref(f"{P}.APIServiceStatus"), "Whether it is available.", proto=3),
])


def apiservice_name(group: str, version: str) -> str:
    return f"{version}.{group}"


def local_apiservice(group: str, version: str, *, custom: bool = False) -> Obj:
    group_min, version_prio = PRIORITIES.get((group, version), CRD_PRIORITY if custom else (15000, 15))
    labels = {"kube-aggregator.kubernetes.io/automanaged": "true" if custom else "onstart"}
    return {"apiVersion": f"{GROUP}/v1", "kind": "APIService",
            "metadata": {"name": apiservice_name(group, version), "labels": labels},
            "spec": {"group": group, "version": version, "groupPriorityMinimum": group_min,
                     "versionPriority": version_prio}}


def validate_apiservice(obj: Obj) -> list[FieldError]:
    errs = meta_v1.validate_object_meta(obj, namespaced=False, name_fn=path_segment_errors)
    spec = obj.get("spec") or {}
    name = (obj.get("metadata") or {}).get("name") or ""
    group, version = str(spec.get("group") or ""), str(spec.get("version") or "")
    wanted = apiservice_name(group, version)
    if name and name != wanted:
        errs.append(invalid("metadata.name", name, f"must be `spec.version+\".\"+spec.group`: \"{wanted}\""))
    if not group and version != "v1":
        errs.append(required("spec.group", "only v1 may have an empty group and it better be legacy kube"))
    if group:
        for msg in names.is_dns1123_subdomain(group):
            errs.append(invalid("spec.group", group, msg))
    if not version:
        errs.append(required("spec.version", ""))
    else:
        for msg in names.is_dns1123_label(version):
            errs.append(invalid("spec.version", version, msg))
    gpm, vp = spec.get("groupPriorityMinimum", 0), spec.get("versionPriority", 0)
    if not isinstance(gpm, int) or gpm <= 0 or gpm > 20000:
        errs.append(invalid("spec.groupPriorityMinimum", gpm, "must be positive and less than 20000"))
    if not isinstance(vp, int) or vp <= 0 or vp > 1000:
        errs.append(invalid("spec.versionPriority", vp, "must be positive and less than 1000"))
    service = spec.get("service")
    if not service:
        if spec.get("caBundle"):
            errs.append(invalid("spec.caBundle", f"{len(str(spec['caBundle']))} bytes",
                                "local APIServices may not have a caBundle"))
        if spec.get("insecureSkipTLSVerify"):
            errs.append(invalid("spec.insecureSkipTLSVerify", True, "local APIServices may not have "
                                                                    "insecureSkipTLSVerify"))
        return errs
    if not service.get("namespace"):
        errs.append(required("spec.service.namespace", ""))
    if not service.get("name"):
        errs.append(required("spec.service.name", ""))
    port = service.get("port")
    if isinstance(port, int) and not 1 <= port <= 65535:
        errs.append(invalid("spec.service.port", port, "port is not valid: must be between 1 and 65535, "
                                                       "inclusive"))
    if spec.get("insecureSkipTLSVerify") and spec.get("caBundle"):
        errs.append(invalid("spec.insecureSkipTLSVerify", True, "may not be true if caBundle is present"))
    return errs


class APIServiceStrategy(Strategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        service = (obj.get("spec") or {}).get("service")
        if isinstance(service, dict) and service.get("port") is None:
            service["port"] = 443

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_apiservice(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + [e for e in validate_apiservice(new) if not e.field.startswith("metadata")]


register(group=GROUP, version="v1", kind="APIService", plural="apiservices", namespaced=False,
         strategy=APIServiceStrategy(), schema=f"{P}.APIService", categories=("api-extensions",),
         subresources=("status",))
