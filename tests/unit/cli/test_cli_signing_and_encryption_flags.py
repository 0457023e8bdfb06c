"""CSR signing flags (``pyk8s controller-manager``, ``pyk8s server``) and ``--encryption-provider-config``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyk8s.cli import controller_manager as cm_cli
from pyk8s.cli import server as server_cli
from pyk8s.cli.main import build_parser


def parse(*argv: str):  # type: ignore[no-untyped-def]
    return build_parser().parse_args(list(argv))


def test_controller_manager_signing_flags() -> None:
    args = parse("controller-manager", "--kubeconfig", "k", "--cluster-signing-cert-file", "/ca.crt",
                 "--cluster-signing-key-file", "/ca.key", "--cluster-signing-duration", "24h")
    opts = cm_cli.options_from(args)
    assert (opts["cluster_signing_cert_file"], opts["cluster_signing_key_file"]) == ("/ca.crt", "/ca.key")
    assert opts["cluster_signing_duration"] == 86400.0
    default = cm_cli.options_from(parse("controller-manager", "--kubeconfig", "k"))
    assert default["cluster_signing_duration"] == 365 * 24 * 3600.0 and default["cluster_signing_cert_file"] == ""


def test_server_signs_with_the_data_dirs_ca(tmp_path: Path) -> None:
    args = parse("server", "--data-dir", str(tmp_path), "--cluster-signing-duration", "2h")
    opts = server_cli.control_plane(args).controller_options
    assert opts["cluster_signing_cert_file"] == str(tmp_path.resolve() / "pki" / "ca.crt")
    assert opts["cluster_signing_key_file"] == str(tmp_path.resolve() / "pki" / "ca.key")
    assert opts["cluster_signing_duration"] == 7200.0


def test_server_encryption_config_is_checked_before_start(tmp_path: Path) -> None:
    good = tmp_path / "enc.yaml"
    good.write_text("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
                    "resources:\n- resources: [secrets]\n  providers:\n  - identity: {}\n")
    args = parse("server", "--data-dir", str(tmp_path), "--encryption-provider-config", str(good))
    assert server_cli.options(args, environ={}).encryption_provider_config == str(good)
    good.write_text("kind: Other\n")
    with pytest.raises(ValueError, match="error while parsing encryption provider configuration file"):
        server_cli.options(args, environ={})
