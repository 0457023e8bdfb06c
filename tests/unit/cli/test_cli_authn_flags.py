"""``pyk8s server`` authentication flags: kube-apiserver's names, defaults and forms."""

from __future__ import annotations

import pytest

from pyk8s.cli import server as server_cli
from tests.unit.cli.test_cli_control_plane_flags import server_args


def test_defaults_are_upstreams() -> None:
    config = server_cli.options(server_args(), environ={}).config
    assert config.anonymous_auth is True and config.token_auth_file is None
    assert config.service_account_issuer == "https://kubernetes.default.svc.cluster.local"
    assert config.api_audiences == () and config.service_account_max_token_expiration == 0
    assert config.service_account_extend_token_expiration is True


def test_flags_reach_the_config(tmp_path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text("t,alice,1\n")
    config = server_cli.options(server_args(
        "--anonymous-auth=false", "--token-auth-file", str(tokens), "--service-account-issuer", "https://issuer.test",
        "--api-audiences", "a,b", "--service-account-max-token-expiration", "48h",
        "--service-account-extend-token-expiration=false"), environ={}).config
    assert config.anonymous_auth is False and config.token_auth_file == tokens
    assert config.service_account_issuer == "https://issuer.test" and config.api_audiences == ("a", "b")
    assert config.service_account_max_token_expiration == 48 * 3600
    assert config.service_account_extend_token_expiration is False


def test_unusable_settings_are_one_line_errors(tmp_path) -> None:
    bad = tmp_path / "tokens.csv"
    bad.write_text("t,alice\n")
    with pytest.raises(ValueError, match="must have at least 3 columns"):
        server_cli.options(server_args("--token-auth-file", str(bad)), environ={})
    with pytest.raises(ValueError, match="between 1 hour and 2"):
        server_cli.options(server_args("--service-account-max-token-expiration", "10m"), environ={})
    with pytest.raises(SystemExit):
        server_args("--anonymous-auth=maybe")


def test_signing_and_verification_keys(tmp_path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from pyk8s.util import jwtsign

    signing = jwtsign.SigningKey(ec.generate_private_key(ec.SECP256R1()))
    (tmp_path / "sa-ec.key").write_bytes(signing.private_pem())
    old = jwtsign.generate()
    (tmp_path / "old.pub").write_bytes(old.public_pem() + jwtsign.generate().public_pem())
    config = server_cli.options(server_args("--service-account-signing-key-file", str(tmp_path / "sa-ec.key"),
                                            "--service-account-key-file", str(tmp_path / "old.pub")), environ={}).config
    assert config.service_account_key_path == tmp_path / "sa-ec.key"
    assert [k.public_numbers() for k in jwtsign.load_public_keys(config.service_account_key_files[0])][0] == \
        old.public.public_numbers()
    (tmp_path / "junk").write_text("not a key")
    with pytest.raises(ValueError, match="service account key"):
        server_cli.options(server_args("--service-account-key-file", str(tmp_path / "junk")), environ={})
    with pytest.raises(ValueError, match="No such file"):
        server_cli.options(server_args("--service-account-signing-key-file", str(tmp_path / "absent")), environ={})
