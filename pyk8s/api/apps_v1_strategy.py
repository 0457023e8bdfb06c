"""apps/v1 behaviour: defaults, validation and the registry strategies.

The workload kinds share one shape (selector + pod template + status
counters), so ``WorkloadStrategy`` holds the common flow and each kind adds
its defaults and spec checks.  Messages and field paths follow the apps
validation of Kubernetes v1.32; Go-rendered values (``map[string]string{...}``,
``v1.LabelSelector{...}``) come from ``kinds.go_*``.

Selector immutability is checked on every update (apps/v1 has no version in
which it may change).
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import kinds, meta_v1, names
from pyk8s.api.kinds import (
    child,
    go_int_or_string,
    go_label_selector,
    immutable,
    int_or_percent_value,
    invalid_go,
    nonnegative,
    not_more_than_100_percent,
    spec_of,
    validate_int_or_percent,
)
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import NOT_SUPPORTED, FieldError, forbidden, invalid, not_supported, required

Obj = dict[str, Any]

DAEMONSET_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


# ---------------------------------------------------------------- shared checks


def validate_selector(spec: Obj, path: str, what: str) -> list[FieldError]:
    """Selector required, well formed and not empty (``empty selector is invalid for <what>``)."""
    sel = spec.get("selector")
    if sel is None:
        return [required(path + ".selector")]
    errs = meta_v1.validate_label_selector(sel, path + ".selector")
    if not (sel.get("matchLabels") or sel.get("matchExpressions")):
        errs.append(invalid_go(path + ".selector", go_label_selector(sel), f"empty selector is invalid for {what}"))
    return errs


def validate_template_for_replicas(spec: Obj, path: str, kind: str) -> list[FieldError]:
    """ValidatePodTemplateSpecForReplicaSet / StatefulSet / DaemonSet: labels match,
    the pod template is valid, restartPolicy Always, no activeDeadlineSeconds."""
    template = spec.get("template")
    tpath = path + ".template"
    if not isinstance(template, dict):
        return [required(tpath)]
    errs = kinds.selector_matches_template(spec.get("selector"), template, tpath, skip_empty=True)
    errs += kinds.validate_pod_template(template, tpath)
    pod_spec = template.get("spec") or {}
    policy = pod_spec.get("restartPolicy", "")
    if policy != "Always":
        errs.append(not_supported(tpath + ".spec.restartPolicy", policy, ["Always"]))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        detail = f"activeDeadlineSeconds in {kind} is not Supported"
        if kind == "DaemonSet":
            errs.append(invalid(tpath + ".spec.activeDeadlineSeconds", pod_spec["activeDeadlineSeconds"], detail))
        else:
            errs.append(forbidden(tpath + ".spec.activeDeadlineSeconds", detail))
    return errs


def _status_counts(status: Obj, path: str, names_: tuple[str, ...]) -> list[FieldError]:
    errs: list[FieldError] = []
    for name in names_:
        errs += nonnegative(status.get(name), f"{path}.{name}")
    return errs


def _not_above(status: Obj, path: str, name: str, limit: str, msg: str) -> list[FieldError]:
    value, bound = status.get(name) or 0, status.get(limit) or 0
    return [invalid(f"{path}.{name}", value, msg)] if value > bound else []


def _collision_not_decremented(new: Obj, old: Obj) -> list[FieldError]:
    n = (new.get("status") or {}).get("collisionCount")
    o = (old.get("status") or {}).get("collisionCount")
    if n is not None and o is not None and n < o:
        return [invalid("status.collisionCount", n, "cannot be decremented")]
    return []


def go_strategy(go_type: str, rolling_type: str, strategy: Obj) -> str:
    """``apps.<Strategy>{Type:"x", RollingUpdate:...}`` as Go prints it (pointer shown as nil or elided)."""
    rolling = "nil" if strategy.get("rollingUpdate") is None else "0xc000000000"
    return (f"apps.{go_type}{{Type:{kinds.go_quote(str(strategy.get('type', '')))}, "
            f"RollingUpdate:(*apps.{rolling_type})({rolling})}}")


def unsupported_go(path: str, go_text: str, supported: list[str]) -> FieldError:
    values = ", ".join(f'"{v}"' for v in supported)
    return FieldError(NOT_SUPPORTED, path, f"{go_text}: supported values: {values}")


# ---------------------------------------------------------------- base strategy


class WorkloadStrategy(Strategy):
    """Selector + template kinds: status reset on create, immutable selector."""

    kind = ""
    empty_status: dict[str, Any] = {}
    #: Name validator (StatefulSet names are DNS labels: they prefix pod hostnames).
    name_fn: names.NameFn = staticmethod(names.is_dns1123_subdomain)  # type: ignore[assignment]

    def default(self, obj: Obj) -> None:
        kinds.default_pod_template(spec_of(obj).get("template"))

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = dict(self.empty_status)
        child(obj, "metadata")["generation"] = 1

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True, name_fn=self.name_fn)
        return errs + self.validate_spec(obj.get("spec") or {}, "spec")

    def validate_spec(self, spec: Obj, path: str) -> list[FieldError]:
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += self.validate_spec(new.get("spec") or {}, "spec")
        nsel, osel = (new.get("spec") or {}).get("selector"), (old.get("spec") or {}).get("selector")
        errs += immutable(nsel, osel, "spec.selector", go_text=go_label_selector(nsel))
        return errs

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        return errs + self.validate_status(new.get("status") or {}, "status") + _collision_not_decremented(new, old)

    def validate_status(self, status: Obj, path: str) -> list[FieldError]:
        return []


# ---------------------------------------------------------------- Deployment


def default_deployment(obj: Obj) -> None:
    spec = spec_of(obj)
    spec.setdefault("replicas", 1)
    strategy = child(spec, "strategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = child(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)


def validate_deployment_strategy(strategy: Obj, path: str) -> list[FieldError]:
    kind = strategy.get("type", "")
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [forbidden(path + ".rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if kind != "RollingUpdate":
        return [unsupported_go(path, go_strategy("DeploymentStrategy", "RollingUpdateDeployment", strategy),
                               ["Recreate", "RollingUpdate"])]
    if not isinstance(rolling, dict):
        return [required(path + ".rollingUpdate", "this should be defaulted and never be nil")]
    rpath = path + ".rollingUpdate"
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errs = validate_int_or_percent(unavailable, rpath + ".maxUnavailable")
    errs += validate_int_or_percent(surge, rpath + ".maxSurge")
    if (int_or_percent_value(unavailable) or 0) == 0 and (int_or_percent_value(surge) or 0) == 0:
        errs.append(invalid_go(rpath + ".maxUnavailable", go_int_or_string(unavailable),
                               "may not be 0 when `maxSurge` is 0"))
    errs += not_more_than_100_percent(unavailable, rpath + ".maxUnavailable")
    return errs


class DeploymentStrategy(WorkloadStrategy):
    kind = "Deployment"

    def default(self, obj: Obj) -> None:
        default_deployment(obj)
        super().default(obj)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """Upstream's deployment status strategy keeps the spec and the labels: /status cannot set them."""
        super().prepare_for_status_update(new, old)
        meta, labels = new.setdefault("metadata", {}), (old.get("metadata") or {}).get("labels")
        if labels is None:
            meta.pop("labels", None)
        else:
            meta["labels"] = labels

    def validate_spec(self, spec: Obj, path: str) -> list[FieldError]:
        errs = nonnegative(spec.get("replicas"), path + ".replicas")
        errs += validate_selector(spec, path, "deployment")
        if kinds.selector_of(spec.get("selector")) is None:
            errs.append(invalid_go(path + ".selector", go_label_selector(spec.get("selector")),
                                   "invalid label selector"))
        else:
            errs += validate_template_for_replicas(spec, path, "ReplicaSet")
        errs += validate_deployment_strategy(spec.get("strategy") or {}, path + ".strategy")
        min_ready = spec.get("minReadySeconds") or 0
        errs += nonnegative(min_ready, path + ".minReadySeconds")
        errs += nonnegative(spec.get("revisionHistoryLimit"), path + ".revisionHistoryLimit")
        deadline = spec.get("progressDeadlineSeconds")
        if isinstance(deadline, int):
            errs += nonnegative(deadline, path + ".progressDeadlineSeconds")
            if deadline <= min_ready:
                errs.append(invalid(path + ".progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))
        return errs

    def validate_status(self, status: Obj, path: str) -> list[FieldError]:
        errs = _status_counts(status, path, ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas",
                                             "availableReplicas", "unavailableReplicas", "collisionCount"))
        msg = "cannot be greater than status.replicas"
        for name in ("updatedReplicas", "readyReplicas", "availableReplicas"):
            errs += _not_above(status, path, name, "replicas", msg)
        errs += _not_above(status, path, "availableReplicas", "readyReplicas", "cannot be greater than readyReplicas")
        return errs


# ---------------------------------------------------------------- ReplicaSet


class ReplicaSetStrategy(WorkloadStrategy):
    kind = "ReplicaSet"
    empty_status = {"replicas": 0}
    field_selectors = {"status.replicas": lambda o: str((o.get("status") or {}).get("replicas", 0))}

    def default(self, obj: Obj) -> None:
        spec_of(obj).setdefault("replicas", 1)
        super().default(obj)

    def validate_spec(self, spec: Obj, path: str) -> list[FieldError]:
        errs = nonnegative(spec.get("replicas"), path + ".replicas")
        errs += nonnegative(spec.get("minReadySeconds"), path + ".minReadySeconds")
        errs += validate_selector(spec, path, "deployment")  # sic: upstream reuses the Deployment wording
        if kinds.selector_of(spec.get("selector")) is None:
            errs.append(invalid_go(path + ".selector", go_label_selector(spec.get("selector")),
                                   "invalid label selector"))
        else:
            errs += validate_template_for_replicas(spec, path, "ReplicaSet")
        return errs

    def validate_status(self, status: Obj, path: str) -> list[FieldError]:
        errs = _status_counts(status, path, ("replicas", "fullyLabeledReplicas", "readyReplicas",
                                             "availableReplicas", "observedGeneration"))
        msg = "cannot be greater than status.replicas"
        for name in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
            errs += _not_above(status, path, name, "replicas", msg)
        errs += _not_above(status, path, "availableReplicas", "readyReplicas", "cannot be greater than readyReplicas")
        return errs


# ---------------------------------------------------------------- StatefulSet


def _default_claim_template(claim: Any) -> None:
    if not isinstance(claim, dict):
        return
    child(claim, "spec").setdefault("volumeMode", "Filesystem")
    child(claim, "status").setdefault("phase", "Pending")


def default_statefulset(obj: Obj) -> None:
    spec = spec_of(obj)
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = child(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        if strategy.get("rollingUpdate") is None:
            strategy["rollingUpdate"] = {}
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        strategy["rollingUpdate"].setdefault("partition", 0)
    policy = child(spec, "persistentVolumeClaimRetentionPolicy")
    policy["whenDeleted"] = policy.get("whenDeleted") or "Retain"
    policy["whenScaled"] = policy.get("whenScaled") or "Retain"
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    for claim in spec.get("volumeClaimTemplates") or []:
        _default_claim_template(claim)


_STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
STS_FORBIDDEN_UPDATE = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                        "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
                        "'minReadySeconds' are forbidden")


def _validate_sts_update_strategy(strategy: Obj, path: str) -> list[FieldError]:
    kind = strategy.get("type", "")
    rolling = strategy.get("rollingUpdate")
    if not kind:
        return [required(path)]
    if kind == "OnDelete":
        if rolling is not None:
            return [invalid(path + ".rollingUpdate", rolling, "only allowed for updateStrategy 'RollingUpdate'")]
        return []
    if kind == "RollingUpdate":
        if isinstance(rolling, dict):
            return nonnegative(rolling.get("partition"), path + ".rollingUpdate.partition")
        return []
    return [invalid_go(path, go_strategy("StatefulSetUpdateStrategy", "RollingUpdateStatefulSetStrategy", strategy),
                       "must be 'RollingUpdate' or 'OnDelete'")]


def _validate_retention(policy: Any, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(policy, dict):
        return errs
    for key in ("whenDeleted", "whenScaled"):
        value = policy.get(key, "")
        if value not in ("Retain", "Delete"):
            errs.append(not_supported(f"{path}.{key}", value, ["Retain", "Delete"]))
    return errs


def _validate_sts_template(spec: Obj, path: str) -> list[FieldError]:
    """Upstream checks only labels and annotations of a StatefulSet template: its
    volume mounts may name volumeClaimTemplates, which full pod validation rejects."""
    template = spec.get("template") or {}
    tpath = path + ".template"
    errs = kinds.selector_matches_template(spec.get("selector"), template, tpath, skip_empty=True)
    tmeta = template.get("metadata") or {}
    errs += meta_v1.validate_labels(tmeta.get("labels"), tpath + ".labels")
    errs += meta_v1.validate_annotations(tmeta.get("annotations"), tpath + ".annotations")
    pod_spec = template.get("spec") or {}
    policy = pod_spec.get("restartPolicy", "")
    if policy != "Always":
        errs.append(not_supported(tpath + ".spec.restartPolicy", policy, ["Always"]))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden(tpath + ".spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not Supported"))
    return errs


class StatefulSetStrategy(WorkloadStrategy):
    kind = "StatefulSet"
    empty_status = {"replicas": 0, "availableReplicas": 0}
    name_fn = staticmethod(names.is_dns1123_label)  # type: ignore[assignment]

    def default(self, obj: Obj) -> None:
        default_statefulset(obj)
        super().default(obj)

    def validate_spec(self, spec: Obj, path: str) -> list[FieldError]:
        errs: list[FieldError] = []
        policy = spec.get("podManagementPolicy", "")
        if not policy:
            errs.append(required(path + ".podManagementPolicy"))
        elif policy not in ("OrderedReady", "Parallel"):
            errs.append(invalid(path + ".podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"))
        errs += _validate_sts_update_strategy(spec.get("updateStrategy") or {}, path + ".updateStrategy")
        errs += _validate_retention(spec.get("persistentVolumeClaimRetentionPolicy"),
                                    path + ".persistentVolumeClaimRetentionPolicy")
        errs += nonnegative(spec.get("replicas"), path + ".replicas")
        errs += nonnegative(spec.get("minReadySeconds"), path + ".minReadySeconds")
        errs += nonnegative((spec.get("ordinals") or {}).get("start"), path + ".ordinals.start")
        errs += nonnegative(spec.get("revisionHistoryLimit"), path + ".revisionHistoryLimit")
        service = spec.get("serviceName") or ""
        if service:
            errs += [invalid(path + ".serviceName", service, m) for m in names.is_dns1035_label(service)]
        errs += validate_selector(spec, path, "statefulset")
        if kinds.selector_of(spec.get("selector")) is None:
            errs.append(invalid_go(path + ".selector", go_label_selector(spec.get("selector")), ""))
        else:
            errs += _validate_sts_template(spec, path)
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += self.validate_spec(new.get("spec") or {}, "spec")
        nspec, ospec = new.get("spec") or {}, old.get("spec") or {}
        rest_new = {k: v for k, v in nspec.items() if k not in _STS_MUTABLE}
        rest_old = {k: v for k, v in ospec.items() if k not in _STS_MUTABLE}
        if rest_new != rest_old:
            errs.append(forbidden("spec", STS_FORBIDDEN_UPDATE))
        return errs

    def validate_status(self, status: Obj, path: str) -> list[FieldError]:
        errs = _status_counts(status, path, ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas",
                                             "availableReplicas", "observedGeneration", "collisionCount"))
        msg = "cannot be greater than status.replicas"
        for name in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
            errs += _not_above(status, path, name, "replicas", msg)
        errs += _not_above(status, path, "availableReplicas", "readyReplicas",
                           "cannot be greater than status.readyReplicas")
        return errs


# ---------------------------------------------------------------- DaemonSet


def default_daemonset(obj: Obj) -> None:
    spec = spec_of(obj)
    strategy = child(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = child(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)


def _validate_ds_update_strategy(strategy: Obj, path: str) -> list[FieldError]:
    kind = strategy.get("type", "")
    if kind == "OnDelete":
        return []
    if kind != "RollingUpdate":
        return [unsupported_go(path, go_strategy("DaemonSetUpdateStrategy", "RollingUpdateDaemonSet", strategy),
                               ["RollingUpdate", "OnDelete"])]
    rolling = strategy.get("rollingUpdate")
    if not isinstance(rolling, dict):
        return [required(path + ".rollingUpdate")]
    rpath = path + ".rollingUpdate"
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errs = validate_int_or_percent(unavailable, rpath + ".maxUnavailable")
    errs += validate_int_or_percent(surge, rpath + ".maxSurge")
    errs += not_more_than_100_percent(unavailable, rpath + ".maxUnavailable")
    errs += not_more_than_100_percent(surge, rpath + ".maxSurge")
    has_unavailable = (int_or_percent_value(unavailable) or 0) != 0
    has_surge = (int_or_percent_value(surge) or 0) != 0
    if has_unavailable and has_surge:
        errs.append(invalid_go(rpath + ".maxSurge", go_int_or_string(surge),
                               "may not be set when maxUnavailable is non-zero"))
    elif not has_unavailable and not has_surge:
        errs.append(invalid_go(rpath + ".maxUnavailable", go_int_or_string(unavailable),
                               "cannot be 0 when maxSurge is 0"))
    return errs


class DaemonSetStrategy(WorkloadStrategy):
    kind = "DaemonSet"
    empty_status = {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                    "numberReady": 0}

    def default(self, obj: Obj) -> None:
        default_daemonset(obj)
        super().default(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        child(child(obj, "metadata"), "annotations")[DAEMONSET_TEMPLATE_GENERATION] = "1"

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        old_gen = ((old.get("metadata") or {}).get("annotations") or {}).get(DAEMONSET_TEMPLATE_GENERATION, "1")
        gen = int(old_gen) if str(old_gen).isdigit() else 1
        if (new.get("spec") or {}).get("template") != (old.get("spec") or {}).get("template"):
            gen += 1
        child(child(new, "metadata"), "annotations")[DAEMONSET_TEMPLATE_GENERATION] = str(gen)

    def validate_spec(self, spec: Obj, path: str) -> list[FieldError]:
        sel = spec.get("selector")
        errs = meta_v1.validate_label_selector(sel, path + ".selector")
        errs += kinds.selector_matches_template(sel, spec.get("template") or {}, path + ".template")
        if isinstance(sel, dict) and not (sel.get("matchLabels") or sel.get("matchExpressions")):
            errs.append(invalid_go(path + ".selector", go_label_selector(sel), "empty selector is invalid for daemonset"))
        template = spec.get("template") or {}
        errs += kinds.validate_pod_template(template, path + ".template")
        pod_spec = template.get("spec") or {}
        policy = pod_spec.get("restartPolicy", "")
        if policy != "Always":
            errs.append(not_supported(path + ".template.spec.restartPolicy", policy, ["Always"]))
        if pod_spec.get("activeDeadlineSeconds") is not None:
            errs.append(invalid(path + ".template.spec.activeDeadlineSeconds", pod_spec["activeDeadlineSeconds"],
                                "activeDeadlineSeconds in DaemonSet is not Supported"))
        errs += nonnegative(spec.get("minReadySeconds"), path + ".minReadySeconds")
        errs += _validate_ds_update_strategy(spec.get("updateStrategy") or {}, path + ".updateStrategy")
        errs += nonnegative(spec.get("revisionHistoryLimit"), path + ".revisionHistoryLimit")
        return errs

    def validate_status(self, status: Obj, path: str) -> list[FieldError]:
        return _status_counts(status, path, (
            "currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
            "observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable",
            "collisionCount"))


# ---------------------------------------------------------------- ControllerRevision


class ControllerRevisionStrategy(Strategy):
    has_status = False
    tracks_generation = False

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        if obj.get("data") is None:
            errs.append(required("data", "data is mandatory"))
        errs += nonnegative(obj.get("revision"), "revision")
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += nonnegative(new.get("revision"), "revision")
        if new.get("data") != old.get("data"):
            errs.append(invalid("data", new.get("data"), "field is immutable"))
        return errs
