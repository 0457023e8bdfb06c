"""PodSecurity: the Pod Security Standards enforced per namespace by its labels (upstream's built-in
Pod Security admission), with the defaults and exemptions of its configuration (``config.py``,
``--admission-control-config-file``; without one, ``privileged:latest`` and no exemptions).

``pod-security.kubernetes.io/<mode>`` (``privileged``, ``baseline`` or ``restricted``) with an
optional ``<mode>-version`` (``latest`` or ``v1.N``, each version judged by the checks of that
version, ``checks.py``) for the three modes; as upstream, a namespace that sets ``enforce`` but no
``warn`` level warns at the enforce level when that is stricter:

* ``enforce``: a pod that violates the level is refused, 403 ``pods "x" is forbidden: violates
  PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set
  securityContext.allowPrivilegeEscalation=false), ...``;
* ``warn``: the response carries a ``Warning: would violate PodSecurity "...": ...`` header;
* ``audit``: the violation is recorded as the ``pod-security.kubernetes.io/audit-violations`` audit
  annotation on the request (``Attributes.audit_annotations``), beside
  ``pod-security.kubernetes.io/enforce-policy`` (the ``level:version`` a pod was enforced at) and
  ``pod-security.kubernetes.io/exempt`` (``namespace``, ``user`` or ``runtimeClass``) for an exempt
  request; each also goes to the request's audit event (``--audit-policy-file``, ``apiserver/audit/``),
  a refused pod's too.

Pods are checked on creation, when ``kubectl debug`` adds an ephemeral container, and on the updates
upstream calls significant (a container's image, the seccomp annotations, containers added); a pod
update that changes none of these is not re-judged.  Workload objects with a pod template (Deployments, ReplicaSets, ...) get
``warn`` and ``audit`` but never ``enforce``, as upstream.  Namespaces: invalid labels are refused
(422, upstream's wording), and changing ``enforce`` to a stricter level warns about existing pods
that would violate it (``existing pods in namespace "x" violate the new PodSecurity enforce level
"restricted:latest"`` and one line per pod).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyk8s.apiserver.admission.interface import CREATE, PODS, UPDATE, Attributes, Obj, Plugin
from pyk8s.apiserver.admission.podsecurity import checks, memo
from pyk8s.apiserver.admission.podsecurity.config import Config, load, valid_version
from pyk8s.apiserver.audit.event import annotate as audit_annotate
from pyk8s.apiserver.registry import cachedreads
from pyk8s.machinery import errors

if TYPE_CHECKING:
    from pyk8s.apiserver.registry import Registry

NAME = "PodSecurity"
PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
LEVELS = ("privileged", "baseline", "restricted")
AUDIT_ANNOTATION = PREFIX + "audit-violations"
ENFORCE_POLICY_ANNOTATION = PREFIX + "enforce-policy"
EXEMPT_ANNOTATION = PREFIX + "exempt"
DEFAULT_CONFIG = Config()
NAMESPACES = ("", "namespaces")
TEMPLATES: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "deployments"): ("spec", "template"), ("apps", "replicasets"): ("spec", "template"),
    ("apps", "statefulsets"): ("spec", "template"), ("apps", "daemonsets"): ("spec", "template"),
    ("batch", "jobs"): ("spec", "template"), ("", "replicationcontrollers"): ("spec", "template"),
    ("batch", "cronjobs"): ("spec", "jobTemplate", "spec", "template"), ("", "podtemplates"): ("template",),
}
MAX_POD_WARNINGS = 10


def _annotate(attrs: Attributes, key: str, value: str) -> None:
    """On the admission request, and on its audit event when it is audited (upstream's audit annotations)."""
    attrs.audit_annotations[key] = value
    audit_annotate(key, value)


def policy(labels: dict[str, str], defaults: dict[str, tuple[str, str]] | None = None,
           ) -> tuple[dict[str, tuple[str, str]], list[errors.Cause]]:
    """Each mode's ``(level, version)`` from a namespace's labels over the configured defaults, and the
    invalid labels as causes (an invalid level counts as ``restricted`` for enforce, ``privileged``
    otherwise; an invalid version as ``latest``, as upstream's PolicyToEvaluate)."""
    out = dict(defaults or DEFAULT_CONFIG.defaults)
    causes: list[errors.Cause] = []
    for mode in MODES:
        level, version = labels.get(PREFIX + mode), labels.get(f"{PREFIX}{mode}-version")
        if level is not None:
            if level not in LEVELS:
                causes.append(_invalid(PREFIX + mode, level, "must be one of privileged, baseline, restricted"))
                level = "restricted" if mode == "enforce" else "privileged"
            out[mode] = (level, out[mode][1])
        if version is not None:
            if not valid_version(version):
                causes.append(_invalid(f"{PREFIX}{mode}-version", version, 'must be "latest" or "v1.x"'))
                version = "latest"
            out[mode] = (out[mode][0], version)
    enforce_set = labels.get(PREFIX + "enforce") in LEVELS
    if enforce_set and PREFIX + "warn" not in labels and \
            LEVELS.index(out["enforce"][0]) > LEVELS.index(out["warn"][0]):
        version = out["warn"][1] if f"{PREFIX}warn-version" in labels else out["enforce"][1]
        out["warn"] = (out["enforce"][0], version)
    return out, causes


def privileged(modes: dict[str, tuple[str, str]]) -> bool:
    return all(level == "privileged" for level, _ in modes.values())


def compact(modes: dict[str, tuple[str, str]]) -> str:
    """Upstream's Policy.CompactString: the modes that are not privileged."""
    return ",".join(f"{m}={modes[m][0]}:{modes[m][1]}" for m in MODES if modes[m][0] != "privileged")


def _invalid(label: str, value: str, detail: str) -> errors.Cause:
    return errors.Cause("FieldValueInvalid", f'Invalid value: "{value}": {detail}', f"metadata.labels[{label}]")


def describe(level: str, version: str, violations: list[checks.Violation]) -> str:
    return f'PodSecurity "{level}:{version}": ' + ", ".join(str(v) for v in violations)


def significant(pod: Obj, old: Obj) -> bool:
    """Whether a pod update may change what the checks see (upstream's isSignificantPodUpdate)."""
    notes, old_notes = (pod.get("metadata") or {}).get("annotations") or {}, \
        (old.get("metadata") or {}).get("annotations") or {}
    if notes.get(checks.SECCOMP_POD_ANNOTATION) != old_notes.get(checks.SECCOMP_POD_ANNOTATION):
        return True
    spec, old_spec = pod.get("spec") or {}, old.get("spec") or {}

    def changed(c: Obj, o: Obj) -> bool:
        key = checks.SECCOMP_CONTAINER_PREFIX + str(c.get("name"))
        return c.get("image") != o.get("image") or notes.get(key) != old_notes.get(key)

    for key in ("containers", "initContainers"):
        new, was = spec.get(key) or [], old_spec.get(key) or []
        if len(new) != len(was) or any(changed(c, o) for c, o in zip(new, was, strict=True)):
            return True
    before = {str(o.get("name")): o for o in old_spec.get("ephemeralContainers") or []}
    return any(str(c.get("name")) not in before or changed(c, before[str(c.get("name"))])
               for c in spec.get("ephemeralContainers") or [])


def _template(obj: Obj, path: tuple[str, ...]) -> Obj | None:
    node: object = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


_POLICY_MEMO_SIZE = 4096  # namespaces remembered (cleared when full: a bound, not an eviction policy)


class PodSecurity(Plugin):
    name = NAME
    resources = frozenset({PODS, NAMESPACES, *TEMPLATES})

    def __init__(self, config: Config = DEFAULT_CONFIG) -> None:
        self.config = config
        # Per namespace name: the Namespace object last seen (the watch cache's, never changed in place:
        # a change replaces it) and its policy, so each pod create does not parse the labels again.
        self._policies: dict[str, tuple[Obj, dict[str, tuple[str, str]], list[errors.Cause], bool]] = {}

    def _policy_of(self, ns: Obj) -> tuple[dict[str, tuple[str, str]], list[errors.Cause], bool]:
        """The namespace's modes, invalid labels, and whether nothing is to be checked (privileged in every
        mode, no invalid label), remembered until the namespace object is another one."""
        name = str((ns.get("metadata") or {}).get("name") or "")
        memo = self._policies.get(name)
        if memo is not None and memo[0] is ns:
            return memo[1], memo[2], memo[3]
        modes, causes = policy((ns.get("metadata") or {}).get("labels") or {}, self.config.defaults)
        exempt = not causes and privileged(modes)
        if len(self._policies) >= _POLICY_MEMO_SIZE:
            self._policies.clear()
        self._policies[name] = (ns, modes, causes, exempt)
        return modes, causes, exempt

    def handles(self, attrs: Attributes) -> bool:
        if attrs.subresource:
            # kubectl debug: an ephemeral container is judged like the pod's own (upstream checks it).
            return attrs.resource == PODS and attrs.subresource == "ephemeralcontainers"
        if attrs.resource == NAMESPACES:
            return attrs.operation in (CREATE, UPDATE)
        if attrs.resource == PODS:
            return attrs.operation == CREATE or (attrs.operation == UPDATE and significant(attrs.obj, attrs.old or {}))
        return attrs.resource in TEMPLATES and attrs.operation in (CREATE, UPDATE)

    async def validate(self, registry: Registry, attrs: Attributes) -> None:
        if attrs.resource == NAMESPACES:
            await self._namespace(registry, attrs)
            return
        pod = attrs.obj if attrs.resource == PODS else _template(attrs.obj, TEMPLATES[attrs.resource])
        if pod is None:
            return
        if self._exempt(attrs, "namespace", attrs.namespace in self.config.namespaces) or \
                self._exempt(attrs, "user", attrs.user in self.config.usernames):
            return
        store = registry.store(*NAMESPACES)
        ns = None if store is None else await cachedreads.get(store, "", attrs.namespace)
        if ns is None:
            return
        modes, causes, exempt = self._policy_of(ns)
        if exempt:
            return  # privileged in every mode: nothing to check
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        if self._exempt(attrs, "runtimeClass", spec.get("runtimeClassName") in self.config.runtime_classes):
            return
        results: dict[tuple[str, str], list[checks.Violation]] = {}  # each level:version evaluated once

        def violations(level_version: tuple[str, str]) -> list[checks.Violation]:
            if level_version not in results:
                results[level_version] = memo.evaluate(level_version[0], meta, spec, level_version[1])
            return results[level_version]

        enforce, audit, warn = modes["enforce"], modes["audit"], modes["warn"]
        if attrs.resource == PODS:
            _annotate(attrs, ENFORCE_POLICY_ANNOTATION, f"{enforce[0]}:{enforce[1]}")
            if found := violations(enforce):
                raise attrs.forbidden("violates " + describe(*enforce, found))
        if found := violations(audit):
            _annotate(attrs, AUDIT_ANNOTATION, "would violate " + describe(*audit, found))
        if found := violations(warn):
            attrs.warnings.append("would violate " + describe(*warn, found))

    @staticmethod
    def _exempt(attrs: Attributes, reason: str, exempt: bool) -> bool:
        if exempt:
            _annotate(attrs, EXEMPT_ANNOTATION, reason)
        return exempt

    async def _namespace(self, registry: Registry, attrs: Attributes) -> None:
        labels = (attrs.obj.get("metadata") or {}).get("labels") or {}
        modes, causes = policy(labels, self.config.defaults)
        if causes:
            detail = causes[0].field + ": " + causes[0].message if len(causes) == 1 else \
                "[" + ", ".join(f"{c.field}: {c.message}" for c in causes) + "]"
            # As upstream's plugin: the admission Forbidden's details (no causes) with PodSecurity's
            # 422 message, so kubectl prints only 'The namespaces "x" is invalid'.
            raise errors.StatusError(422, "Invalid", f'namespaces "{attrs.name}" is invalid: {detail}',
                                     name=attrs.name, kind="namespaces")
        if attrs.name in self.config.namespaces:
            if any(k.startswith(PREFIX) for k in labels) and not privileged(modes):
                attrs.warnings.append(f'namespace "{attrs.name}" is exempt from Pod Security, and the policy '
                                      f"({compact(modes)}) will be ignored")
            return
        if attrs.operation != UPDATE:
            return
        old_modes, _ = policy(((attrs.old or {}).get("metadata") or {}).get("labels") or {}, self.config.defaults)
        if old_modes["enforce"] == modes["enforce"]:
            return
        await self._warn_existing(registry, attrs, modes["enforce"])

    async def _warn_existing(self, registry: Registry, attrs: Attributes, enforce: tuple[str, str]) -> None:
        store = registry.store(*PODS)
        if store is None or enforce[0] == "privileged":
            return
        lines: list[str] = []
        for pod in await cachedreads.namespace_items(store, attrs.name):
            spec = pod.get("spec") or {}
            if spec.get("runtimeClassName") in self.config.runtime_classes:
                continue
            found = checks.evaluate(enforce[0], pod.get("metadata") or {}, spec, enforce[1])
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
    """The plugin with the PodSecurity part of ``--admission-control-config-file`` (``Options.extra``)."""
    path = getattr(options, "extra", {}).get("admission_control_config_file")
    return PodSecurity(load(str(path)) if path else DEFAULT_CONFIG)
