"""Secrets: confidential key/value data, optionally immutable.

``stringData`` is a write-only convenience: its values are base64-encoded
into ``data`` (winning over the same keys there) and the field is dropped, as
Kubernetes' conversion does.  Built-in types require their well-known keys.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.core_v1.common import P, register_kind
from pyk8s.api.core_v1.configmap import MAX_SIZE, validate_immutable, validate_keys
from pyk8s.machinery.schema import BOOL, BYTES, STRING, STRING_MAP, Field, MapOf, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, invalid, required, too_long

Obj = dict[str, Any]

define(P + "Secret", "Confidential data as key/value pairs.", [
    *meta_v1.type_meta_fields(),
    Field("immutable", BOOL, "When true, data can no longer change; the object can only be deleted."),
    Field("data", MapOf(BYTES), "Values by key, base64-encoded in JSON."),
    Field("stringData", STRING_MAP, "Write-only plain-text values merged into data."),
    Field("type", STRING, "What the secret holds, e.g. Opaque or kubernetes.io/tls."),
], gvk=("", "v1", "Secret"))

#: Keys each built-in secret type must carry.
_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def canonical_base64(value: Any) -> Any:
    """A ``[]byte`` value as Go stores it: Go's decoder skips CR and LF (the docs' TLS example wraps
    its base64 at 64 columns), and what is stored is the bytes, so it reads back unwrapped.
    A value that is not base64 is left for validation to report."""
    if not isinstance(value, str) or ("\n" not in value and "\r" not in value):
        return value
    try:
        return base64.b64encode(base64.b64decode(value.replace("\r", "").replace("\n", ""), validate=True)).decode()
    except (binascii.Error, ValueError):
        return value


class SecretStrategy(Strategy):
    has_status = False
    tracks_generation = False
    field_selectors = {"type": lambda o: o.get("type", "")}

    def default(self, obj: Obj) -> None:
        if not obj.get("type"):
            obj["type"] = "Opaque"
        data = obj.get("data")
        if isinstance(data, dict):
            obj["data"] = {key: canonical_base64(value) for key, value in data.items()}
        string_data = obj.pop("stringData", None)
        if string_data:
            data = obj.get("data") or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta(obj, namespaced=True)
        data = obj.get("data") or {}
        key_errs, _ = validate_keys(data, "data")
        errs += key_errs
        size = 0
        for key, value in data.items():
            try:
                size += len(base64.b64decode(value or "", validate=True))
            except (binascii.Error, ValueError):
                errs.append(invalid(f"data[{key}]", "<secret contents redacted>", "must be base64-encoded"))
        if size > MAX_SIZE:
            errs.append(too_long("data", MAX_SIZE))
        kind = obj.get("type") or ""
        for key in _REQUIRED_KEYS.get(kind, ()):
            if key not in data:
                errs.append(required(f"data[{key}]"))
        if kind == "kubernetes.io/service-account-token":
            ann = (obj.get("metadata") or {}).get("annotations") or {}
            if not ann.get("kubernetes.io/service-account.name"):
                errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
        if kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
            errs.append(required("data[username]", "must specify at least one of username or password"))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = meta_v1.validate_object_meta_update(new, old)
        errs += [e for e in self.validate(new) if not e.field.startswith("metadata")]
        if (new.get("type") or "Opaque") != (old.get("type") or "Opaque"):
            errs.append(invalid("type", new.get("type"), "field is immutable"))
        return errs + validate_immutable(new, old, ("data",))


SECRETS = register_kind(kind="Secret", plural="secrets", namespaced=True, strategy=SecretStrategy())
