"""Query parameters and DeleteOptions bodies into the registry's option objects.

Parameters Kubernetes defines but that change nothing here (``pretty``,
``timeout`` on non-watch requests) are accepted and ignored.  Malformed
values are 400 BadRequest, never a 500.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from pyk8s.apiserver.registry.rest import DeleteOptions, ListOptions, WatchOptions, WriteOptions
from pyk8s.machinery.errors import bad_request

FIELD_VALIDATION = ("Ignore", "Warn", "Strict")
PROPAGATION = ("Orphan", "Background", "Foreground")
#: Watches without timeoutSeconds end after a random 30-60 min, like the API server's minRequestTimeout.
MIN_REQUEST_TIMEOUT = 1800.0

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


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
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f'invalid value for {name}: "{raw}" is not an integer') from None


def _bool(query: Mapping[str, str], name: str) -> bool | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    low = raw.lower()
    if low in ("true", "1", "t"):
        return True
    if low in ("false", "0", "f"):
        return False
    raise bad_request(f'invalid value for {name}: "{raw}" is not a boolean')


def dry_run(values: list[str]) -> bool:
    for value in values:
        if value != "All":
            raise bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def write_options(query: Mapping[str, str], dry_values: list[str], user: str) -> WriteOptions:
    fv = query.get("fieldValidation", "") or "Warn"
    if fv not in FIELD_VALIDATION:
        raise bad_request(f'fieldValidation: Unsupported value: "{fv}": supported values: "Ignore", "Strict", "Warn"')
    manager = query.get("fieldManager", "")
    if len(manager) > 128:
        raise bad_request("fieldManager: Too long: may not be more than 128 bytes")
    return WriteOptions(dry_run=dry_run(dry_values), field_manager=manager, field_validation=fv,
                        force=bool(_bool(query, "force")), user=user)


def list_options(query: Mapping[str, str]) -> ListOptions:
    limit = _int(query, "limit") or 0
    if limit < 0:
        raise bad_request("limit: Invalid value: must be a non-negative integer")
    rvm = query.get("resourceVersionMatch", "")
    if rvm and rvm not in ("NotOlderThan", "Exact"):
        raise bad_request(f'resourceVersionMatch: Unsupported value: "{rvm}": supported values: "Exact", "NotOlderThan"')
    return ListOptions(label_selector=query.get("labelSelector", ""), field_selector=query.get("fieldSelector", ""),
                       limit=limit, continue_token=query.get("continue", ""),
                       resource_version=query.get("resourceVersion", ""), resource_version_match=rvm)


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
    return WatchOptions(label_selector=query.get("labelSelector", ""), field_selector=query.get("fieldSelector", ""),
                        resource_version=query.get("resourceVersion", ""),
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
