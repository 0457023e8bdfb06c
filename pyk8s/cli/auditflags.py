"""``pyk8s server``'s audit flags, as kube-apiserver's (``pyk8s/apiserver/audit/``).

``--audit-policy-file`` and ``--audit-log-path`` turn auditing on together; a bad policy file stops
the server at start, as upstream.  Only the JSON format and the log backend exist: ``--audit-log-format
legacy`` and ``--audit-log-mode`` other than ``batch`` (how pyk8s writes: from a thread) are refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pyk8s.apiserver.audit import policy
from pyk8s.cli.flagtypes import non_negative_int


def _choice(allowed: str, why: str) -> Any:
    def parse(text: str) -> str:
        if text != allowed:
            raise argparse.ArgumentTypeError(f"{text!r} is not supported: {why}")
        return text
    return parse


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audit-policy-file", type=Path, default=None, metavar="FILE",
                   help="audit.k8s.io/v1 Policy: which requests are logged, at which level")
    p.add_argument("--audit-log-path", default="", metavar="PATH",
                   help="file audit events are appended to, one JSON Event per line ('-': standard output)")
    p.add_argument("--audit-log-maxsize", type=non_negative_int, default=0, metavar="MB",
                   help="megabytes before the log is rotated (default 0: 100)")
    p.add_argument("--audit-log-maxbackup", type=non_negative_int, default=0, metavar="N",
                   help="rotated files kept (default 0: all)")
    p.add_argument("--audit-log-maxage", type=non_negative_int, default=0, metavar="DAYS",
                   help="days rotated files are kept (default 0: forever)")
    p.add_argument("--audit-log-format", type=_choice("json", "only json is written"), default="json",
                   metavar="FORMAT", help="json (the only format)")
    p.add_argument("--audit-log-mode", type=_choice("batch", "events are always written from a buffer by a thread"),
                   default="batch", metavar="MODE", help="batch (the only mode)")


def config_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    policy_file = args.audit_policy_file.resolve() if args.audit_policy_file else None
    if policy_file is not None and args.audit_log_path:
        policy.load(policy_file)  # a ValueError for a bad file: the server does not start
    path = args.audit_log_path
    return {"audit_policy_file": policy_file,
            "audit_log_path": path if path in ("", "-") else str(Path(path).resolve()),
            "audit_log_maxsize": args.audit_log_maxsize, "audit_log_maxbackup": args.audit_log_maxbackup,
            "audit_log_maxage": args.audit_log_maxage}
