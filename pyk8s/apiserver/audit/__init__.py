"""Audit logging as kube-apiserver's: ``--audit-policy-file`` says what is recorded, ``--audit-log-path``
where (one ``audit.k8s.io/v1`` Event per line).  Off unless both are given.

``policy.py`` reads and matches the policy, ``event.py`` keeps one request's event, ``filter.py`` holds
the filters, ``backend.py`` the writer thread and rotation, ``record.py`` the JSON lines.  Code below the
filters adds annotations with ``annotate(key, value)`` (authorization decisions, PodSecurity), and the
endpoints' body reader hands bodies to the current event (``event.CURRENT``); both cost one
context-variable read when auditing is off.
"""

from __future__ import annotations

import logging

from pyk8s.apiserver.audit.backend import LogBackend
from pyk8s.apiserver.audit.event import CURRENT, annotate
from pyk8s.apiserver.audit.filter import AUDIT_ID_KEY, AUDIT_KEY, Auditor, send_audit_id
from pyk8s.apiserver.audit.policy import Policy, load
from pyk8s.apiserver.config import ServerConfig

log = logging.getLogger("pyk8s.audit")


def build(config: ServerConfig, policy: Policy | None = None) -> Auditor | None:
    """The server's auditor, or None when auditing is off (as upstream: a policy and a log path are both
    needed; either alone is logged and ignored)."""
    path, policy_file = config.audit_log_path, config.audit_policy_file
    if not path and not policy_file:
        return None
    if not path or not policy_file:
        log.warning("audit: %s without %s: no events will be recorded",
                    "--audit-policy-file" if policy_file else "--audit-log-path",
                    "--audit-log-path" if policy_file else "--audit-policy-file")
        return None
    policy = policy or load(policy_file)
    backend = LogBackend(path, config.audit_log_maxsize, config.audit_log_maxbackup, config.audit_log_maxage)
    log.info("audit: logging to %s with the policy in %s", path, policy_file)
    return Auditor(policy, backend)


__all__ = ["AUDIT_ID_KEY", "AUDIT_KEY", "CURRENT", "Auditor", "Policy", "annotate", "build", "send_audit_id"]
