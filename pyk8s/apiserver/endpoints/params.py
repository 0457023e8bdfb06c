"""Query parameters and DeleteOptions bodies into the registry's option objects.

Parameters Kubernetes defines but that change nothing here (``pretty``,
``timeout`` on non-watch requests) are accepted and ignored.  Malformed
values are 400 BadRequest worded as Go's parameter decoding words them
(integers are Go's int64), never a 500; combinations upstream's
``ValidateListOptions`` forbids are 422 Invalid on ``ListOptions``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from pyk8s.apiserver.registry import objectmeta
from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WatchOptions, WriteOptions
from pyk8s.apiserver.requestinfo import TRUE_WORDS
from pyk8s.machinery.errors import Cause, bad_request, invalid

FIELD_VALIDATION = ("Ignore", "Warn", "Strict")
PROPAGATION = ("Orphan", "Background", "Foreground")
#: Watches without timeoutSeconds end after a random 30-60 min, like the API server's minRequestTimeout.
MIN_REQUEST_TIMEOUT = 1800.0

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_INT = re.compile(r"[+-]?[0-9]+")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1
#: Larger limits mean "everything" just the same; capped so storage drivers can add one (SQLite is int64).
MAX_LIMIT = 1 << 62


def go_duration(text: str) -> float:
    """Seconds in a Go duration string (``9m51s``, ``32s``, ``1.5h``)."""
    s = text.strip()
    if s in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise bad_request(f'invalid duration "{text}"')
    return total


def _int(query: Mapping[str, str], name: str) -> int | None:
    """An int64 parameter, refused as Go's strconv.ParseInt refuses it."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if not _GO_INT.fullmatch(raw):
        raise bad_request(f'strconv.ParseInt: parsing "{raw}": invalid syntax')
    value = int(raw)
    if not INT64_MIN <= value <= INT64_MAX:
        raise bad_request(f'strconv.ParseInt: parsing "{raw}": value out of range')
    return value


def resource_version(query: Mapping[str, str]) -> str:
    """``resourceVersion``: empty, or a revision as the storage versioner parses it (uint64)."""
    raw = query.get("resourceVersion", "")
    if raw in ("", "0"):
        return raw
    problem = ""
    if not raw.isascii() or not raw.isdigit():
        problem = "invalid syntax"
    elif int(raw) > UINT64_MAX:
        problem = "value out of range"
    if problem:
        raise bad_request(f'resourceVersion: Invalid value: "{raw}": strconv.ParseUint: parsing "{raw}": {problem}')
    return raw


def _bool(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    low = raw.lower()
    if low in TRUE_WORDS:
        return True
    if low in ("false", "0", "f"):
        return False
    raise bad_request(f'invalid value for {name}: "{raw}" is not a boolean')


def dry_run(values: list[str]) -> bool:
    for value in values:
        if value != "All":
            raise bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def write_options(query: Mapping[str, str], dry_values: list[str], user: str,
                  groups: tuple[str, ...] = ()) -> WriteOptions:
    fv = query.get("fieldValidation", "") or "Warn"
    if fv not in FIELD_VALIDATION:
        raise bad_request(f'fieldValidation: Unsupported value: "{fv}": supported values: "Ignore", "Strict", "Warn"')
    manager = query.get("fieldManager", "")
    if len(manager) > 128:
        raise bad_request("fieldManager: Too long: may not be more than 128 bytes")
    return WriteOptions(dry_run=dry_run(dry_values), field_manager=manager, field_validation=fv,
                        force=bool(_bool(query, "force")), user=user, groups=groups)


def _forbidden(field: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", field)


def _not_supported(field: str, value: str, supported: tuple[str, ...]) -> Cause:
    allowed = ", ".join(f'"{v}"' for v in supported)
    return Cause("FieldValueNotSupported", f'Unsupported value: "{value}": supported values: {allowed}', field)


def _check_list_options(query: Mapping[str, str], *, watch: bool) -> None:
    """Upstream's ValidateListOptions: 422 on ``ListOptions.meta.k8s.io ""``."""
    rvm, rv, cont = query.get("resourceVersionMatch", ""), query.get("resourceVersion", ""), query.get("continue", "")
    initial = _bool(query, "sendInitialEvents")
    causes: list[Cause] = []
    if watch:
        if initial is not None and rvm != "NotOlderThan":
            causes.append(_forbidden("resourceVersionMatch",
                                     "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
        if rvm:
            if initial is None:
                causes.append(_forbidden("resourceVersionMatch",
                                         "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
            if rvm != "NotOlderThan":
                causes.append(_not_supported("resourceVersionMatch", rvm, ("NotOlderThan",)))
            if cont:
                causes.append(_forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
    else:
        if rvm:
            if not rv:
                causes.append(_forbidden("resourceVersionMatch",
                                         "resourceVersionMatch is forbidden unless resourceVersion is provided"))
            if cont:
                causes.append(_forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
            if rvm not in ("Exact", "NotOlderThan"):
                causes.append(_not_supported("resourceVersionMatch", rvm, ("Exact", "NotOlderThan", "")))
            if rvm == "Exact" and rv == "0":
                causes.append(_forbidden("resourceVersionMatch",
                                         'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
        if initial is not None:
            causes.append(_forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    if causes:
        raise invalid("ListOptions", "", causes, group="meta.k8s.io")


def _continue_token(query: Mapping[str, str]) -> str:
    """A continue token this server could have issued: decodable, with a positive revision (else 400)."""
    token = query.get("continue", "")
    if token:
        _, revision = objectmeta.decode_continue(token)
        if revision <= 0:
            raise bad_request("invalid continue token: continue key is not valid: incorrect encoded start "
                              "resourceVersion (version meta.k8s.io/v1)")
    return token


def list_options(query: Mapping[str, str]) -> ListOptions:
    limit = min(_int(query, "limit") or 0, MAX_LIMIT)
    _int(query, "timeoutSeconds")  # decoded (and refused when malformed) as upstream; lists ignore it
    if limit < 0:
        raise bad_request("limit: Invalid value: must be a non-negative integer")
    _check_list_options(query, watch=False)
    return ListOptions(label_selector=query.get("labelSelector", ""), field_selector=query.get("fieldSelector", ""),
                       limit=limit, continue_token=_continue_token(query),
                       resource_version=resource_version(query),
                       resource_version_match=query.get("resourceVersionMatch", ""))


def watch_timeout(query: Mapping[str, str]) -> float:
    """timeoutSeconds, else the ``timeout`` duration, else a random 30-60 minutes."""
    seconds = _int(query, "timeoutSeconds")
    if seconds is not None and seconds > 0:
        return float(seconds)
    if query.get("timeout"):
        t = go_duration(query["timeout"])
        if t > 0:
            return t
    return MIN_REQUEST_TIMEOUT * (1 + random.random())


def watch_options(query: Mapping[str, str]) -> WatchOptions:
    _int(query, "limit")
    _check_list_options(query, watch=True)
    return WatchOptions(label_selector=query.get("labelSelector", ""), field_selector=query.get("fieldSelector", ""),
                        resource_version=resource_version(query),
                        allow_bookmarks=bool(_bool(query, "allowWatchBookmarks")),
                        timeout_seconds=watch_timeout(query),
                        send_initial_events=_bool(query, "sendInitialEvents"))


def is_watch(query: Mapping[str, str]) -> bool:
    return bool(_bool(query, "watch"))


def delete_options(query: Mapping[str, str], dry_values: list[str], body: Mapping[str, Any]) -> DeleteOptions:
    """Query parameters first, then the DeleteOptions body (the body wins where both are set)."""
    opts = DeleteOptions(dry_run=dry_run(dry_values))
    opts.grace_period_seconds = _int(query, "gracePeriodSeconds")
    opts.propagation_policy = query.get("propagationPolicy", "")
    opts.orphan_dependents = _bool(query, "orphanDependents")
    if body:
        _apply_delete_body(opts, body)
    if opts.propagation_policy and opts.propagation_policy not in PROPAGATION:
        raise bad_request(f'propagationPolicy: Unsupported value: "{opts.propagation_policy}": '
                          'supported values: "Foreground", "Background", "Orphan"')
    if opts.grace_period_seconds is not None and opts.grace_period_seconds < 0:
        opts.grace_period_seconds = 1 if opts.grace_period_seconds != 0 else 0
    return opts


def _apply_delete_body(opts: DeleteOptions, body: Mapping[str, Any]) -> None:
    kind = body.get("kind")
    if kind not in (None, "", "DeleteOptions"):
        raise bad_request(f'the body must be a DeleteOptions, not "{kind}"')
    grace = body.get("gracePeriodSeconds")
    if grace is not None:
        if not isinstance(grace, int) or isinstance(grace, bool):
            raise bad_request("gracePeriodSeconds: must be an integer")
        opts.grace_period_seconds = grace
    if body.get("propagationPolicy"):
        opts.propagation_policy = str(body["propagationPolicy"])
    if body.get("orphanDependents") is not None:
        opts.orphan_dependents = bool(body["orphanDependents"])
    pre = body.get("preconditions")
    if isinstance(pre, dict):
        opts.preconditions = {k: str(v) for k, v in pre.items() if k in ("uid", "resourceVersion") and v}
    if body.get("dryRun"):
        dr = body["dryRun"]
        opts.dry_run = opts.dry_run or dry_run(dr if isinstance(dr, list) else [str(dr)])
