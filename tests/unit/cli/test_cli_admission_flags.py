"""``pyk8s server --enable-admission-plugins / --disable-admission-plugins`` (kube-apiserver's flags)."""

from __future__ import annotations

import pytest

from pyk8s.cli import server as server_cli
from tests.unit.cli.test_cli_control_plane_flags import server_args


def test_flags_reach_the_server_options() -> None:
    opts = server_cli.options(server_args("--enable-admission-plugins", "PodSecurity,Priority",
                                          "--disable-admission-plugins", "LimitRanger",
                                          "--disable-admission-plugins", "ResourceQuota"), environ={})
    assert opts.enable_admission_plugins == ("PodSecurity", "Priority")
    assert opts.disable_admission_plugins == ("LimitRanger", "ResourceQuota")


def test_unknown_and_overlapping_plugins_are_refused() -> None:
    with pytest.raises(SystemExit):
        server_args("--enable-admission-plugins", "Foo")
    with pytest.raises(ValueError, match="Priority in enable-admission-plugins and disable-admission-plugins "
                                         "overlapped"):
        server_cli.options(server_args("--enable-admission-plugins", "Priority",
                                       "--disable-admission-plugins", "Priority"), environ={})
