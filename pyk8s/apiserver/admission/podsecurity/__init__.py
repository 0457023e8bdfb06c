"""PodSecurity: the Pod Security Standards enforced per namespace by its labels (upstream's built-in
Pod Security admission, no configuration file: no exemptions, default level ``privileged``).

``pod-security.kubernetes.io/<mode>`` (``privileged``, ``baseline`` or ``restricted``) with an
optional ``<mode>-version`` (``latest`` or ``v1.N``; pyk8s evaluates every version with the
``latest`` checks and names the version asked for) for the three modes:

* ``enforce``: a pod that violates the level is refused, 403 ``pods "x" is forbidden: violates
  PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set
  securityContext.allowPrivilegeEscalation=false), ...``;
* ``warn``: the response carries a ``Warning: would violate PodSecurity "...": ...`` header;
* ``audit``: the violation is recorded as the ``pod-security.kubernetes.io/audit-violations`` audit
  annotation on the request (``Attributes.audit_annotations``).  pyk8s writes no audit log yet, so
  nothing reads it.

Pods are checked on creation and when ``kubectl debug`` adds an ephemeral container (other updates
of a pod's spec are limited to images and tolerations, which no check looks at).  Workload objects with a pod template (Deployments, ReplicaSets, ...) get
``warn`` and ``audit`` but never ``enforce``, as upstream.  Namespaces: invalid labels are refused
(422, upstream's wording), and changing ``enforce`` to a stricter level warns about existing pods
that would violate it (``existing pods in namespace "x" violate the new PodSecurity enforce level
"restricted:latest"`` and one line per pod).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pyk8s.apiserver.admission.interface import CREATE, PODS, UPDATE, Attributes, Obj, Plugin
from pyk8s.apiserver.admission.podsecurity import checks
from pyk8s.apiserver.registry import cachedreads
from pyk8s.machinery import errors

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "PodSecurity"
PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
LEVELS = ("privileged", "baseline", "restricted")
AUDIT_ANNOTATION = PREFIX + "audit-violations"
NAMESPACES = ("", "namespaces")
TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "deployments"): ("spec", "template"), ("apps", "replicasets"): ("spec", "template"),
    ("apps", "statefulsets"): ("spec", "template"), ("apps", "daemonsets"): ("spec", "template"),
    ("batch", "jobs"): ("spec", "template"), ("", "replicationcontrollers"): ("spec", "template"),
    ("batch", "cronjobs"): ("spec", "jobTemplate", "spec", "template"), ("", "podtemplates"): ("template",),
}
_VERSION = re.compile(r"^v1\.(0|[1-9][0-9]*)$")
MAX_POD_WARNINGS = 10


def policy(labels: dict[str, str]) -> tuple[dict[str, tuple[str, str]], list[errors.Cause]]:
    """Each mode's ``(level, version)`` from a namespace's labels, and the invalid labels as causes."""
    out: dict[str, tuple[str, str]] = {}
    causes: list[errors.Cause] = []
    for mode in MODES:
        level = labels.get(PREFIX + mode)
        version = labels.get(f"{PREFIX}{mode}-version")
        if level is not None and level not in LEVELS:
            causes.append(_invalid(PREFIX + mode, level, "must be one of privileged, baseline, restricted"))
            level = None
        if version is not None and version != "latest" and not _VERSION.match(version):
            causes.append(_invalid(f"{PREFIX}{mode}-version", version, 'must be "latest" or "v1.x"'))
            version = None
        if level is not None:
            out[mode] = (level, version or "latest")
    return out, causes


def _invalid(label: str, value: str, detail: str) -> errors.Cause:
    return errors.Cause("FieldValueInvalid", f'Invalid value: "{value}": {detail}', f"metadata.labels[{label}]")


def describe(level: str, version: str, violations: list[checks.Violation]) -> str:
    return f'PodSecurity "{level}:{version}": ' + ", ".join(str(v) for v in violations)


def _template(obj: Obj, path: tuple[str, ...]) -> Obj | None:
    node: object = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


class PodSecurity(Plugin):
    name = NAME
    resources = frozenset({PODS, NAMESPACES, *TEMPLATES})

    def handles(self, attrs: Attributes) -> bool:
        if attrs.subresource:
            # kubectl debug: an ephemeral container is judged like the pod's own (upstream checks it).
            return attrs.resource == PODS and attrs.subresource == "ephemeralcontainers"
        if attrs.resource == NAMESPACES:
            return attrs.operation in (CREATE, UPDATE)
        if attrs.resource == PODS:
            return attrs.operation == CREATE
        return attrs.resource in TEMPLATES and attrs.operation in (CREATE, UPDATE)

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        if attrs.resource == NAMESPACES:
            await self._namespace(registry, attrs)
            return
        pod = attrs.obj if attrs.resource == PODS else _template(attrs.obj, TEMPLATES[attrs.resource])
        if pod is None:
            return
        store = registry.store(*NAMESPACES)
        ns = None if store is None else await cachedreads.get(store, "", attrs.namespace)
        if ns is None:
            return
        labels = (ns.get("metadata") or {}).get("labels") or {}
        if not any(k.startswith(PREFIX) for k in labels):
            return  # privileged everywhere: nothing to check
        modes, _ = policy(labels)
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        results: dict[str, list[checks.Violation]] = {}  # by level: each evaluated once

        def violations(level: str) -> list[checks.Violation]:
            if level not in results:
                results[level] = checks.evaluate(level, meta, spec)
            return results[level]

        enforce = modes.get("enforce")
        if enforce is not None and attrs.resource == PODS and (found := violations(enforce[0])):
            raise attrs.forbidden("violates " + describe(*enforce, found))
        if "warn" in modes and (found := violations(modes["warn"][0])):
            attrs.warnings.append("would violate " + describe(*modes["warn"], found))
        if "audit" in modes and (found := violations(modes["audit"][0])):
            attrs.audit_annotations[AUDIT_ANNOTATION] = "would violate " + describe(*modes["audit"], found)

    async def _namespace(self, registry: Registry, attrs: Attributes) -> None:
        labels = (attrs.obj.get("metadata") or {}).get("labels") or {}
        modes, causes = policy(labels)
        if causes:
            detail = causes[0].field + ": " + causes[0].message if len(causes) == 1 else \
                "[" + ", ".join(f"{c.field}: {c.message}" for c in causes) + "]"
            # As upstream's plugin: the admission Forbidden's details (no causes) with PodSecurity's
            # 422 message, so kubectl prints only 'The namespaces "x" is invalid'.
            raise errors.StatusError(422, "Invalid", f'namespaces "{attrs.name}" is invalid: {detail}',
                                     name=attrs.name, kind="namespaces")
        if attrs.operation != UPDATE or "enforce" not in modes:
            return
        old_modes, _ = policy(((attrs.old or {}).get("metadata") or {}).get("labels") or {})
        if old_modes.get("enforce") == modes["enforce"]:
            return
        await self._warn_existing(registry, attrs, modes["enforce"])

    async def _warn_existing(self, registry: Registry, attrs: Attributes, enforce: tuple[str, str]) -> None:
        store = registry.store(*PODS)
        if store is None or enforce[0] == "privileged":
            return
        lines: list[str] = []
        for pod in await cachedreads.namespace_items(store, attrs.name):
            found = checks.evaluate(enforce[0], pod.get("metadata") or {}, pod.get("spec") or {})
            if found:
                lines.append(f"{pod['metadata']['name']}: " + ", ".join(v.reason for v in found))
        if not lines:
            return
        attrs.warnings.append(f'existing pods in namespace "{attrs.name}" violate the new PodSecurity enforce '
                              f'level "{enforce[0]}:{enforce[1]}"')
        attrs.warnings.extend(lines[:MAX_POD_WARNINGS])
        if len(lines) > MAX_POD_WARNINGS:
            attrs.warnings.append(f"(and {len(lines) - MAX_POD_WARNINGS} other pods)")


def build(options: object) -> Plugin:
    return PodSecurity()
