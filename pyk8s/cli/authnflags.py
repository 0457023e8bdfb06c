"""kube-apiserver's authentication flags for ``pyk8s server`` (names, defaults and forms as upstream).

``--anonymous-auth`` (default true), ``--token-auth-file``,
``--service-account-issuer``, ``--api-audiences``,
``--service-account-max-token-expiration``,
``--service-account-extend-token-expiration`` (default true),
``--service-account-jwks-uri``, ``--service-account-signing-key-file`` and
``--service-account-key-file``.  ``config_kwargs`` turns them into
``ServerConfig`` fields; a token file that cannot be used is a ValueError
(one line on stderr, exit 1) before anything starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pyk8s.apiserver.authentication.tokenfile import load_token_file
from pyk8s.machinery.duration import parse_duration
from pyk8s.util import jwtsign


def go_bool(text: str) -> bool:
    """Go's strconv.ParseBool, as kube-apiserver's ``--flag=false``."""
    value = text.strip().lower()
    if value in ("1", "t", "true"):
        return True
    if value in ("0", "f", "false"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {text!r}")


def _seconds(text: str) -> int:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return int(value)


def _issuer(text: str) -> str:
    if not text or (":" in text and not text.startswith("https://")):
        raise argparse.ArgumentTypeError(f"service-account-issuer {text!r} must be an https URL or a plain string "
                                         "without a colon")
    return text


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--anonymous-auth", type=go_bool, nargs="?", const=True, default=True, metavar="BOOL",
                   help="requests with no credential run as system:anonymous (default true)")
    p.add_argument("--token-auth-file", type=Path, default=None, metavar="FILE",
                   help='static tokens, CSV: token,user,uid,"group1,group2"')
    p.add_argument("--service-account-issuer", type=_issuer, default="https://kubernetes.default.svc.cluster.local",
                   metavar="URL", help="the iss of ServiceAccount tokens")
    p.add_argument("--api-audiences", default="", metavar="LIST",
                   help="audiences of the API (comma-separated; default: the issuer)")
    p.add_argument("--service-account-max-token-expiration", type=_seconds, default=0, metavar="DURATION",
                   help="cap on TokenRequest lifetimes (default 0: none beyond 2^32 s)")
    p.add_argument("--service-account-extend-token-expiration", type=go_bool, nargs="?", const=True, default=True,
                   metavar="BOOL", help="extend kubelet projected tokens to a year with a warn-after mark")
    p.add_argument("--service-account-jwks-uri", default="", metavar="URL",
                   help="jwks_uri in the OIDC discovery document (default: the issuer's /openid/v1/jwks)")
    p.add_argument("--service-account-signing-key-file", type=Path, default=None, metavar="FILE",
                   help="PEM RSA or ECDSA private key that signs ServiceAccount tokens (default: DATA_DIR/pki/sa.key)")
    p.add_argument("--service-account-key-file", type=Path, action="append", default=[], metavar="FILE",
                   help="PEM file of more public keys tokens may be verified with (repeatable)")


def config_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    token_file = args.token_auth_file.resolve() if args.token_auth_file else None
    if token_file is not None:
        load_token_file(token_file)  # TokenFileError (a ValueError) for an unusable file
    signing = args.service_account_signing_key_file.resolve() if args.service_account_signing_key_file else None
    try:
        if signing is not None:
            jwtsign.load(signing)
        key_files = tuple(f.resolve() for f in args.service_account_key_file)
        for f in key_files:
            jwtsign.load_public_keys(f)
    except OSError as exc:
        raise ValueError(f"service account key: {exc.filename}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"service account key: {exc}") from None
    max_exp = args.service_account_max_token_expiration
    if max_exp and not 3600 <= max_exp <= 1 << 32:
        raise ValueError("the service-account-max-token-expiration must be between 1 hour and 2^32 seconds")
    return {"anonymous_auth": args.anonymous_auth, "token_auth_file": token_file,
            "service_account_issuer": args.service_account_issuer,
            "api_audiences": tuple(a.strip() for a in args.api_audiences.split(",") if a.strip()),
            "service_account_max_token_expiration": max_exp,
            "service_account_extend_token_expiration": args.service_account_extend_token_expiration,
            "service_account_jwks_uri": args.service_account_jwks_uri,
            "service_account_signing_key_file": signing, "service_account_key_files": key_files}
