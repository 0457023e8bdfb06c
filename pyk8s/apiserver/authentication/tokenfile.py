"""Static tokens (``--token-auth-file``), as upstream's tokenfile authenticator.

The file is CSV: ``token,user,uid[,"group1,group2"]``; more columns are
ignored, a line with an empty token is skipped with a warning, a token that
appears twice keeps its last line (with a warning), and a line with fewer
than three columns fails the server's start, as upstream.  The tokens the
server makes for itself (the admin token) are added to the same table.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Mapping

from pyk8s.apiserver.authentication.user import Result, UserInfo

log = logging.getLogger("pyk8s.apiserver.authn")


class TokenFileError(ValueError):
    """The token file cannot be used (the server refuses to start)."""


def load_token_file(path: os.PathLike[str] | str) -> dict[str, UserInfo]:
    tokens: dict[str, UserInfo] = {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f, skipinitialspace=False))
    except OSError as exc:
        raise TokenFileError(f"failed to read token file {os.fspath(path)!r}: {exc.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise TokenFileError(f"failed to parse token file {os.fspath(path)!r}: {exc}") from None
    for line, row in enumerate(rows, start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) < 3:
            raise TokenFileError(f"token file '{os.fspath(path)}' must have at least 3 columns "
                                 f"(token, user name, user uid), found {len(row)}")
        token = row[0].strip()
        if not token:
            log.warning("empty token has been found in token file %r, line %d", os.fspath(path), line)
            continue
        groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
        if token in tokens:
            log.warning("duplicate token has been found in token file %r, line %d", os.fspath(path), line)
        tokens[token] = UserInfo(row[1], groups, row[2])
    return tokens


class StaticTokenAuthenticator:
    audience_aware = False

    def __init__(self, tokens: Mapping[str, UserInfo] | None = None) -> None:
        self.tokens = dict(tokens or {})

    async def authenticate_token(self, token: str, audiences: tuple[str, ...]) -> Result | None:
        user = self.tokens.get(token)
        return None if user is None else Result(user, audiences)
