"""PodSecurity's configuration: upstream's ``PodSecurityConfiguration`` inside the API server's
``AdmissionConfiguration`` (``--admission-control-config-file``), inline or through ``path``.

    apiVersion: apiserver.config.k8s.io/v1
    kind: AdmissionConfiguration
    plugins:
    - name: PodSecurity
      configuration:
        apiVersion: pod-security.admission.config.k8s.io/v1
        kind: PodSecurityConfiguration
        defaults: {enforce: baseline, enforce-version: latest, audit: restricted, warn: restricted}
        exemptions: {usernames: [], runtimeClasses: [], namespaces: [kube-system]}

Defaults apply to namespaces without the labels (``privileged:latest`` when unset); exempt users,
namespaces and RuntimeClasses are never checked.  A file pyk8s cannot read or that names unknown
fields, levels or versions is an error at start, as upstream's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PLUGIN = "PodSecurity"
LEVELS = ("privileged", "baseline", "restricted")
MODES = ("enforce", "audit", "warn")
ADMISSION_VERSIONS = ("apiserver.config.k8s.io/v1", "apiserver.config.k8s.io/v1alpha1", "apiserver.k8s.io/v1alpha1")
POD_SECURITY_VERSIONS = ("pod-security.admission.config.k8s.io/v1", "pod-security.admission.config.k8s.io/v1beta1",
                         "pod-security.admission.config.k8s.io/v1alpha1")
_VERSION = re.compile(r"^v1\.(0|[1-9][0-9]*)$")


@dataclass(frozen=True, slots=True)
class Config:
    #: mode -> (level, version) for namespaces without the labels.
    defaults: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {mode: ("privileged", "latest") for mode in MODES})
    usernames: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()
    runtime_classes: frozenset[str] = frozenset()


def valid_version(version: str) -> bool:
    return version == "latest" or bool(_VERSION.match(version))


def _names(exemptions: dict[str, Any], key: str) -> frozenset[str]:
    values = exemptions.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ValueError(f"PodSecurity configuration: exemptions.{key} must be a list of non-empty names")
    return frozenset(values)


def parse(doc: Any) -> Config:
    """A ``PodSecurityConfiguration`` document into a ``Config``."""
    if not isinstance(doc, dict) or doc.get("kind") != "PodSecurityConfiguration" or \
            doc.get("apiVersion") not in POD_SECURITY_VERSIONS:
        raise ValueError("PodSecurity configuration: expected kind PodSecurityConfiguration of apiVersion "
                         + " or ".join(POD_SECURITY_VERSIONS))
    unknown = set(doc) - {"apiVersion", "kind", "defaults", "exemptions"}
    if unknown:
        raise ValueError(f"PodSecurity configuration: unknown fields {', '.join(sorted(unknown))}")
    given = doc.get("defaults") or {}
    known = {key for mode in MODES for key in (mode, f"{mode}-version")}
    if not isinstance(given, dict) or set(given) - known:
        raise ValueError(f"PodSecurity configuration: defaults may only set {', '.join(sorted(known))}")
    defaults: dict[str, tuple[str, str]] = {}
    for mode in MODES:
        level, version = str(given.get(mode, "privileged")), str(given.get(f"{mode}-version", "latest"))
        if level not in LEVELS:
            raise ValueError(f'PodSecurity configuration: defaults.{mode}: Invalid value: "{level}": '
                             f"must be one of {', '.join(LEVELS)}")
        if not valid_version(version):
            raise ValueError(f'PodSecurity configuration: defaults.{mode}-version: Invalid value: "{version}": '
                             f'must be "latest" or "v1.x"')
        defaults[mode] = (level, version)
    exemptions = doc.get("exemptions") or {}
    if not isinstance(exemptions, dict) or set(exemptions) - {"usernames", "namespaces", "runtimeClasses"}:
        raise ValueError("PodSecurity configuration: exemptions may only list usernames, namespaces, runtimeClasses")
    return Config(defaults, _names(exemptions, "usernames"), _names(exemptions, "namespaces"),
                  _names(exemptions, "runtimeClasses"))


def load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"admission control config file {path}: {exc}") from None


def load(path: str) -> Config:
    """PodSecurity's part of an ``AdmissionConfiguration`` file (the default ``Config`` when it has none)."""
    file = Path(path)
    doc = load_yaml(file)
    if not isinstance(doc, dict) or doc.get("kind") != "AdmissionConfiguration" or \
            doc.get("apiVersion") not in ADMISSION_VERSIONS:
        raise ValueError(f"{path}: expected kind AdmissionConfiguration of apiVersion {ADMISSION_VERSIONS[0]}")
    for plugin in doc.get("plugins") or []:
        if not isinstance(plugin, dict) or plugin.get("name") != PLUGIN:
            continue
        if plugin.get("configuration") is not None:
            return parse(plugin["configuration"])
        if plugin.get("path"):
            return parse(load_yaml(file.parent / str(plugin["path"])))
    return Config()
