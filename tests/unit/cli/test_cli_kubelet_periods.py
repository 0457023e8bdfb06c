"""``pyk8s kubelet --sync-frequency`` and ``--file-check-frequency``: upstream's defaults (1m0s, 20s), Go durations,
and a zero, negative or malformed period refused before the kubelet starts."""

from __future__ import annotations

import pathlib

import pytest

from pyk8s.cli import kubelet as cli
from pyk8s.cli.main import build_parser, main
from pyk8s.kubelet.kubelet import KubeletConfig
from pyk8s.kubelet.podsync import RESYNC
from pyk8s.kubelet.staticpods import CHECK_PERIOD


def test_defaults_are_upstreams() -> None:
    args = build_parser("kubelet").parse_args(["kubelet", "--kubeconfig", "k"])
    assert cli.positive_duration(args.sync_frequency, "--sync-frequency") == 60.0 == RESYNC
    assert cli.positive_duration(args.file_check_frequency, "--file-check-frequency") == 20.0 == CHECK_PERIOD
    config = KubeletConfig(node_name="n", root_dir=pathlib.Path("/tmp"))
    assert (config.sync_frequency, config.file_check_frequency) == (RESYNC, CHECK_PERIOD)


def test_go_durations_are_read() -> None:
    assert cli.positive_duration("1m30s", "--sync-frequency") == 90.0
    assert cli.positive_duration("500ms", "--file-check-frequency") == 0.5


@pytest.mark.parametrize(("value", "error"), [
    ("0s", 'invalid argument \'0s\' for "--sync-frequency" flag: must be greater than zero'),
    ("-5s", 'invalid argument \'-5s\' for "--sync-frequency" flag: must be greater than zero'),
    ("ten", 'invalid argument \'ten\' for "--sync-frequency" flag: time: invalid duration'),
])
def test_bad_periods_are_refused(value: str, error: str) -> None:
    with pytest.raises(ValueError) as caught:
        cli.positive_duration(value, "--sync-frequency")
    assert str(caught.value) == error


def test_the_command_refuses_a_bad_period_before_starting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kubelet", "--kubeconfig", "/nonexistent", "--file-check-frequency", "0s"]) == 2
    assert 'for "--file-check-frequency" flag: must be greater than zero' in capsys.readouterr().err
