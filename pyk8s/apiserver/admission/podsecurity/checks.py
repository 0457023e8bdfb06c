"""The Pod Security Standards checks (baseline and restricted, every version), as upstream words them.

Each check looks at a pod spec (and its metadata, for annotations) and returns ``None`` or a
``Violation(reason, detail)``.  ``evaluate(level, pod_meta, spec, version)`` runs the checks of a level
at a version (``(1, minor)``; ``None`` or anything newer than v1.32 is ``latest``, v1.32's) in
upstream's order: the baseline checks by ID, then the restricted ones by ID, a restricted check
replacing the baseline one it overrides (capabilities, seccomp) once it applies.  As upstream's
versioned checks: ``allowPrivilegeEscalation`` from v1.8, ``seccompProfile_restricted`` from v1.19
(before it the baseline check reads the alpha seccomp annotations), ``capabilities_restricted``
from v1.22, ``runAsUser`` from v1.23, Windows pods exempt from those three restricted checks from
v1.25, ``container_engine_t`` allowed from v1.31, and the safe sysctls growing at v1.27, v1.29 and
v1.32.  Containers are visited init first, then regular, then ephemeral, as upstream's visitor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                   "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
#: The newest version whose checks pyk8s knows (``latest``: Kubernetes v1.32).
LATEST_MINOR = 32
SYSCTLS_1_0 = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
                         "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range"})
SYSCTLS_1_27 = SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_1_29 = SYSCTLS_1_27 | {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                               "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
SAFE_SYSCTLS = SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}  # v1.32
SELINUX_TYPES_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES = SELINUX_TYPES_1_0 | {"container_engine_t"}  # v1.31
SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
RESTRICTED_VOLUMES = frozenset({"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                "projected", "secret"})
VOLUME_SOURCES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
                  "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte",
                  "azureDisk", "portworxVolume", "photonPersistentDisk", "scaleIO", "storageos", "image",
                  *sorted(RESTRICTED_VOLUMES))
APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


@dataclass(frozen=True, slots=True)
class Violation:
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.reason} ({self.detail})" if self.detail else self.reason


def _plural(one: str, many: str, n: int) -> str:
    return one if n == 1 else many


def _quote(items: list[str]) -> str:
    return ", ".join(f'"{i}"' for i in items)


def _visit(spec: Obj) -> Iterator[Obj]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for ctr in spec.get(key) or []:
            if isinstance(ctr, dict):
                yield ctr


# The containers of the spec ``evaluate`` is looking at, listed once for all its checks (evaluate
# never awaits, so no other request can see this).
_listed: tuple[int, list[Obj]] = (0, [])


def _containers(spec: Obj) -> list[Obj]:
    if _listed[0] == id(spec):
        return _listed[1]
    return list(_visit(spec))


def _sc(obj: Obj) -> Obj:
    sc = obj.get("securityContext")
    return sc if isinstance(sc, dict) else {}


def _containers_where(spec: Obj, bad: Callable[[Obj], bool]) -> list[str]:
    return [str(c.get("name")) for c in _containers(spec) if bad(c)]


def _setters(spec: Obj, pod_bad: bool, containers: list[str]) -> str:
    """``pod and containers "a", "b"``: who set a forbidden value."""
    parts = ["pod"] if pod_bad else []
    if containers:
        parts.append(f"{_plural('container', 'containers', len(containers))} {_quote(containers)}")
    return " and ".join(parts)


# ------------------------------------------------------------------ baseline

def host_namespaces(meta: Obj, spec: Obj) -> Violation | None:
    set_ = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k) is True]
    return Violation("host namespaces", ", ".join(set_)) if set_ else None


def privileged(meta: Obj, spec: Obj) -> Violation | None:
    bad = _containers_where(spec, lambda c: _sc(c).get("privileged") is True)
    if not bad:
        return None
    return Violation("privileged", f"{_plural('container', 'containers', len(bad))} {_quote(bad)} must not set "
                                   f"securityContext.privileged=true")


def _added(c: Obj) -> list[str]:
    caps = _sc(c).get("capabilities")
    return [str(a) for a in (caps.get("add") or [])] if isinstance(caps, dict) else []


def capabilities_baseline(meta: Obj, spec: Obj) -> Violation | None:
    bad: list[str] = []
    caps: set[str] = set()
    for c in _containers(spec):
        extra = [a for a in _added(c) if a not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(str(c.get("name")))
            caps.update(extra)
    if not bad:
        return None
    return Violation("non-default capabilities", f"{_plural('container', 'containers', len(bad))} {_quote(bad)} "
                                                 f"must not include {_quote(sorted(caps))} in "
                                                 f"securityContext.capabilities.add")


def host_path_volumes(meta: Obj, spec: Obj) -> Violation | None:
    bad = [str(v.get("name")) for v in spec.get("volumes") or [] if isinstance(v, dict) and "hostPath" in v]
    return Violation("hostPath volumes", f"{_plural('volume', 'volumes', len(bad))} {_quote(bad)}") if bad else None


def host_ports(meta: Obj, spec: Obj) -> Violation | None:
    bad: list[str] = []
    ports: list[str] = []
    for c in _containers(spec):
        used = [str(p.get("hostPort")) for p in c.get("ports") or [] if isinstance(p, dict) and p.get("hostPort")]
        if used:
            bad.append(str(c.get("name")))
            ports += used
    if not bad:
        return None
    return Violation("hostPort", f"{_plural('container', 'containers', len(bad))} {_quote(bad)} "
                                 f"{_plural('uses hostPort', 'uses hostPorts', len(ports))} {', '.join(ports)}")


def app_armor(meta: Obj, spec: Obj) -> Violation | None:
    bad: set[str] = set()
    for key, value in ((meta.get("annotations") or {}).items()):
        if key.startswith(APPARMOR_PREFIX) and not (value == "runtime/default" or str(value).startswith("localhost/")):
            bad.add(f"{key}={value}")
    profiles = [("pod", (_sc(spec) or {}).get("appArmorProfile"))]
    profiles += [(str(c.get("name")), _sc(c).get("appArmorProfile")) for c in _containers(spec)]
    for _, profile in profiles:
        if isinstance(profile, dict) and profile.get("type") == "Unconfined":
            bad.add("Unconfined")
    if not bad:
        return None
    return Violation(_plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(bad)),
                     _quote(sorted(bad)))


def se_linux(meta: Obj, spec: Obj, allowed: frozenset[str] = SELINUX_TYPES) -> Violation | None:
    types: set[str] = set()
    user = role = False

    def bad(opts: Any) -> bool:
        nonlocal user, role
        if not isinstance(opts, dict):
            return False
        wrong = False
        if str(opts.get("type") or "") not in allowed:
            types.add(str(opts.get("type")))
            wrong = True
        if opts.get("user"):
            user = wrong = True
        if opts.get("role"):
            role = wrong = True
        return wrong

    pod_bad = bad(_sc(spec).get("seLinuxOptions"))
    containers = _containers_where(spec, lambda c: bad(_sc(c).get("seLinuxOptions")))
    if not pod_bad and not containers:
        return None
    data = [f"{_plural('type', 'types', len(types))} {_quote(sorted(types))}"] if types else []
    data += ["user may not be set"] if user else []
    data += ["role may not be set"] if role else []
    return Violation("seLinuxOptions", f"{_setters(spec, pod_bad, containers)} set forbidden "
                                       f"securityContext.seLinuxOptions: {'; '.join(data)}")


def proc_mount(meta: Obj, spec: Obj) -> Violation | None:
    kinds: set[str] = set()

    def bad(c: Obj) -> bool:
        value = _sc(c).get("procMount")
        if value not in (None, "", "Default"):
            kinds.add(str(value))
            return True
        return False

    names = _containers_where(spec, bad)
    if not names:
        return None
    return Violation("procMount", f"{_plural('container', 'containers', len(names))} {_quote(names)} must not set "
                                  f"securityContext.procMount to {_quote(sorted(kinds))}")


def _seccomp_type(obj: Obj) -> str | None:
    profile = _sc(obj).get("seccompProfile")
    return str(profile.get("type")) if isinstance(profile, dict) and profile.get("type") else None


def seccomp_baseline(meta: Obj, spec: Obj) -> Violation | None:
    pod_bad = _seccomp_type(spec) == "Unconfined"
    names = _containers_where(spec, lambda c: _seccomp_type(c) == "Unconfined")
    if not pod_bad and not names:
        return None
    return Violation("seccompProfile", f"{_setters(spec, pod_bad, names)} must not set "
                                       f'securityContext.seccompProfile.type to "Unconfined"')


def sysctls(meta: Obj, spec: Obj, allowed: frozenset[str] = SAFE_SYSCTLS) -> Violation | None:
    bad = [str(s.get("name")) for s in _sc(spec).get("sysctls") or []
           if isinstance(s, dict) and s.get("name") not in allowed]
    return Violation("forbidden sysctls", ", ".join(bad)) if bad else None


def host_process(meta: Obj, spec: Obj) -> Violation | None:
    def on(obj: Obj) -> bool:
        opts = _sc(obj).get("windowsOptions")
        return isinstance(opts, dict) and opts.get("hostProcess") is True

    pod_bad, names = on(spec), _containers_where(spec, on)
    if not pod_bad and not names:
        return None
    return Violation("hostProcess", f"{_setters(spec, pod_bad, names)} must not set "
                                    f"securityContext.windowsOptions.hostProcess=true")


# ------------------------------------------------------------------ restricted

def restricted_volumes(meta: Obj, spec: Obj) -> Violation | None:
    bad: list[str] = []
    kinds: set[str] = set()
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        source = next((k for k in VOLUME_SOURCES if k in v), None)
        if source is None:
            source = next((k for k in v if k != "name"), "unknown")
        if source not in RESTRICTED_VOLUMES:
            bad.append(str(v.get("name")))
            kinds.add(source)
    if not bad:
        return None
    return Violation("restricted volume types",
                     f"{_plural('volume', 'volumes', len(bad))} {_quote(bad)} {_plural('uses', 'use', len(bad))} "
                     f"{_plural('restricted volume type', 'restricted volume types', len(kinds))} "
                     f"{_quote(sorted(kinds))}")


def allow_privilege_escalation(meta: Obj, spec: Obj) -> Violation | None:
    names = _containers_where(spec, lambda c: _sc(c).get("allowPrivilegeEscalation") is not False)
    if not names:
        return None
    return Violation("allowPrivilegeEscalation != false",
                     f"{_plural('container', 'containers', len(names))} {_quote(names)} must set "
                     f"securityContext.allowPrivilegeEscalation=false")


def run_as_non_root(meta: Obj, spec: Obj) -> Violation | None:
    pod_value = _sc(spec).get("runAsNonRoot")
    explicit = _containers_where(spec, lambda c: _sc(c).get("runAsNonRoot") is False)
    if pod_value is False or explicit:
        return Violation("runAsNonRoot != true", f"{_setters(spec, pod_value is False, explicit)} must not set "
                                                 f"securityContext.runAsNonRoot=false")
    if pod_value is True:
        return None
    implicit = _containers_where(spec, lambda c: _sc(c).get("runAsNonRoot") is not True)
    if not implicit:
        return None
    return Violation("runAsNonRoot != true", f"pod or {_plural('container', 'containers', len(implicit))} "
                                             f"{_quote(implicit)} must set securityContext.runAsNonRoot=true")


def run_as_user(meta: Obj, spec: Obj) -> Violation | None:
    pod_bad = _sc(spec).get("runAsUser") == 0
    names = _containers_where(spec, lambda c: _sc(c).get("runAsUser") == 0)
    if not pod_bad and not names:
        return None
    return Violation("runAsUser=0", f"{_setters(spec, pod_bad, names)} must not set runAsUser=0")


def seccomp_restricted(meta: Obj, spec: Obj) -> Violation | None:
    allowed = ("RuntimeDefault", "Localhost")
    values: set[str] = set()

    def bad(obj: Obj) -> bool:
        kind = _seccomp_type(obj)
        if kind is not None and kind not in allowed:
            values.add(kind)
            return True
        return False

    pod_bad = bad(spec)
    names = _containers_where(spec, bad)
    if pod_bad or names:
        return Violation("seccompProfile", f"{_setters(spec, pod_bad, names)} must not set "
                                           f"securityContext.seccompProfile.type to {_quote(sorted(values))}")
    if _seccomp_type(spec) is not None:
        return None
    missing = _containers_where(spec, lambda c: _seccomp_type(c) is None)
    if not missing:
        return None
    return Violation("seccompProfile", f"pod or {_plural('container', 'containers', len(missing))} "
                                       f'{_quote(missing)} must set securityContext.seccompProfile.type to '
                                       f'"RuntimeDefault" or "Localhost"')


def capabilities_restricted(meta: Obj, spec: Obj) -> Violation | None:
    no_drop: list[str] = []
    adding: list[str] = []
    caps: set[str] = set()
    for c in _containers(spec):
        cap = _sc(c).get("capabilities")
        drop = [str(d) for d in (cap.get("drop") or [])] if isinstance(cap, dict) else []
        if "ALL" not in drop:
            no_drop.append(str(c.get("name")))
        extra = [a for a in _added(c) if a != "NET_BIND_SERVICE"]
        if extra:
            adding.append(str(c.get("name")))
            caps.update(extra)
    details = []
    if no_drop:
        details.append(f"{_plural('container', 'containers', len(no_drop))} {_quote(no_drop)} must set "
                       f'securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_plural('container', 'containers', len(adding))} {_quote(adding)} must not include "
                       f"{_quote(sorted(caps))} in securityContext.capabilities.add")
    return Violation("unrestricted capabilities", "; ".join(details)) if details else None


def _valid_seccomp_annotation(value: str) -> bool:
    return value in ("runtime/default", "docker/default") or value.startswith("localhost/")


def seccomp_annotations(meta: Obj, spec: Obj) -> Violation | None:
    """Before v1.19, the baseline seccomp check reads the alpha annotations."""
    notes = meta.get("annotations") or {}
    keys = [SECCOMP_POD_ANNOTATION] + [SECCOMP_CONTAINER_PREFIX + str(c.get("name")) for c in _containers(spec)]
    bad = sorted({f'{k}="{notes[k]}"' for k in keys if k in notes and not _valid_seccomp_annotation(str(notes[k]))})
    if not bad:
        return None
    return Violation("seccompProfile", f"forbidden {_plural('annotation', 'annotations', len(bad))} {', '.join(bad)}")


Check = Callable[[Obj, Obj], Violation | None]


def _not_windows(check: Check) -> Check:
    """From v1.25, a pod for Windows nodes is exempt from the Linux-only restricted checks."""
    def versioned(meta: Obj, spec: Obj) -> Violation | None:
        return None if (spec.get("os") or {}).get("name") == "windows" else check(meta, spec)
    return versioned


def _with(check: Callable[[Obj, Obj, frozenset[str]], Violation | None], allowed: frozenset[str]) -> Check:
    return lambda meta, spec: check(meta, spec, allowed)


@dataclass(frozen=True, slots=True)
class Versioned:
    """A check from ``minor`` (v1.<minor>) on, until the check's next entry; ``overrides`` baseline IDs."""

    minor: int
    check: Check
    overrides: tuple[str, ...] = ()


BASELINE_TABLE: dict[str, tuple[Versioned, ...]] = {
    "appArmorProfile": (Versioned(0, app_armor),),
    "capabilities_baseline": (Versioned(0, capabilities_baseline),),
    "hostNamespaces": (Versioned(0, host_namespaces),),
    "hostPathVolumes": (Versioned(0, host_path_volumes),),
    "hostPorts": (Versioned(0, host_ports),),
    "privileged": (Versioned(0, privileged),),
    "procMount": (Versioned(0, proc_mount),),
    "seLinuxOptions": (Versioned(0, _with(se_linux, SELINUX_TYPES_1_0)), Versioned(31, se_linux)),
    "seccompProfile_baseline": (Versioned(0, seccomp_annotations), Versioned(19, seccomp_baseline)),
    "sysctls": (Versioned(0, _with(sysctls, SYSCTLS_1_0)), Versioned(27, _with(sysctls, SYSCTLS_1_27)),
                Versioned(29, _with(sysctls, SYSCTLS_1_29)), Versioned(32, sysctls)),
    "windowsHostProcess": (Versioned(0, host_process),),
}
RESTRICTED_TABLE: dict[str, tuple[Versioned, ...]] = {
    "allowPrivilegeEscalation": (Versioned(8, allow_privilege_escalation),
                                 Versioned(25, _not_windows(allow_privilege_escalation))),
    "capabilities_restricted": (Versioned(22, capabilities_restricted, ("capabilities_baseline",)),
                                Versioned(25, _not_windows(capabilities_restricted), ("capabilities_baseline",))),
    "restrictedVolumes": (Versioned(0, restricted_volumes),),
    "runAsNonRoot": (Versioned(0, run_as_non_root),),
    "runAsUser": (Versioned(23, run_as_user),),
    "seccompProfile_restricted": (Versioned(19, seccomp_restricted, ("seccompProfile_baseline",)),
                                  Versioned(25, _not_windows(seccomp_restricted), ("seccompProfile_baseline",))),
}


def _at(entries: tuple[Versioned, ...], minor: int) -> Versioned | None:
    """The entry in force at v1.<minor> (None before the check exists)."""
    found = None
    for entry in entries:
        if entry.minor <= minor:
            found = entry
    return found


@functools.lru_cache(maxsize=64)  # the tables are fixed: one list per (level, version), not one per pod
def checks_for(level: str, minor: int) -> tuple[Check, ...]:
    """The checks of ``level`` at v1.<minor>, in upstream's order: baseline IDs, then restricted IDs."""
    restricted = {cid: e for cid, entries in RESTRICTED_TABLE.items() if (e := _at(entries, minor))} \
        if level == "restricted" else {}
    overridden = {o for e in restricted.values() for o in e.overrides}
    baseline = {cid: e for cid, entries in BASELINE_TABLE.items()
                if cid not in overridden and (e := _at(entries, minor))}
    return tuple([baseline[c].check for c in sorted(baseline)] + [restricted[c].check for c in sorted(restricted)])


def parse_version(version: str | None) -> int:
    """The minor version a ``v1.<minor>`` (or ``latest``/None) label means, newer ones capped at latest."""
    if not version or version == "latest" or not version.startswith("v1."):
        return LATEST_MINOR
    return min(int(version[3:]), LATEST_MINOR)


def evaluate(level: str, meta: Obj, spec: Obj, version: str | None = None) -> list[Violation]:
    """The violations of ``level`` (``baseline`` or ``restricted``; ``privileged`` allows all) at ``version``."""
    if level == "privileged":
        return []
    global _listed
    _listed = (id(spec), list(_visit(spec)))
    try:
        return [found for check in checks_for(level, parse_version(version)) if (found := check(meta, spec))]
    finally:
        _listed = (0, [])
