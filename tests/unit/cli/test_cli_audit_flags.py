"""``pyk8s server``'s audit flags: what reaches ServerConfig, and a bad policy refused before start."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pyk8s.cli import auditflags


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    auditflags.add_flags(p)
    return p.parse_args(list(argv))


def test_off_by_default() -> None:
    kwargs = auditflags.config_kwargs(parse())
    assert kwargs["audit_policy_file"] is None and kwargs["audit_log_path"] == ""


def test_flags_reach_the_config(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Metadata}]\n")
    kwargs = auditflags.config_kwargs(parse("--audit-policy-file", str(policy), "--audit-log-path", "-",
                                            "--audit-log-maxsize", "5", "--audit-log-maxbackup", "2",
                                            "--audit-log-maxage", "7"))
    assert kwargs == {"audit_policy_file": policy, "audit_log_path": "-", "audit_log_maxsize": 5,
                      "audit_log_maxbackup": 2, "audit_log_maxage": 7}


def test_a_bad_policy_stops_the_server_and_unsupported_modes_are_refused(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Loud}]\n")
    with pytest.raises(ValueError, match='rules\\[0\\].level: Unsupported value: "Loud"'):
        auditflags.config_kwargs(parse("--audit-policy-file", str(policy), "--audit-log-path", "x.log"))
    for flag, value in (("--audit-log-format", "legacy"), ("--audit-log-mode", "blocking"),
                        ("--audit-log-maxsize", "-1")):
        with pytest.raises(SystemExit):
            parse(flag, value)
