from __future__ import annotations

import pytest

from pyk8s.apiserver.authentication.tokenfile import StaticTokenAuthenticator, TokenFileError, load_token_file
from pyk8s.apiserver.authentication.user import UserInfo


def test_csv_rows_become_users_with_uid_and_groups(tmp_path):
    path = tmp_path / "tokens.csv"
    path.write_text('abc123,alice,1001,"dev,ops"\n'
                    "def456,bob,1002\n"
                    ",nobody,1003\n"
                    "\n"
                    "abc123,alice2,1004,admins\n")
    tokens = load_token_file(path)
    assert tokens == {"abc123": UserInfo("alice2", ("admins",), "1004"),  # a repeated token keeps its last line
                      "def456": UserInfo("bob", (), "1002")}


def test_groups_column_is_split_on_commas(tmp_path):
    path = tmp_path / "tokens.csv"
    path.write_text('t1,alice,1,"a, b,,c"\n')
    assert load_token_file(path)["t1"].groups == ("a", "b", "c")


def test_fewer_than_three_columns_fails_as_upstream(tmp_path):
    path = tmp_path / "tokens.csv"
    path.write_text("t1,alice\n")
    with pytest.raises(TokenFileError) as exc:
        load_token_file(path)
    assert str(exc.value) == (f"token file '{path}' must have at least 3 columns (token, user name, user uid), "
                              "found 2")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(TokenFileError, match="failed to read token file"):
        load_token_file(tmp_path / "absent.csv")


async def test_authenticator_knows_only_its_tokens():
    auth = StaticTokenAuthenticator({"t": UserInfo("alice", ("dev",), "1")})
    result = await auth.authenticate_token("t", ("api",))
    assert result is not None and result.user.username == "alice" and result.audiences == ("api",)
    assert await auth.authenticate_token("T", ("api",)) is None
