from __future__ import annotations

from pyk8s.apiserver.filters.impersonation import impersonated_user


def test_plain_user_gets_authenticated() -> None:
    u = impersonated_user("bob", [], "", {})
    assert (u.username, u.groups) == ("bob", ("system:authenticated",))


def test_requested_groups_are_kept() -> None:
    u = impersonated_user("bob", ["devs", "system:authenticated"], "u-1", {"scopes": ["a"]})
    assert u.groups == ("devs", "system:authenticated")
    assert (u.uid, u.extra) == ("u-1", {"scopes": ["a"]})


def test_service_account_gets_its_groups() -> None:
    u = impersonated_user("system:serviceaccount:ns:robot", [], "", {})
    assert u.groups == ("system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated")


def test_anonymous_is_unauthenticated() -> None:
    assert impersonated_user("system:anonymous", [], "", {}).groups == ("system:unauthenticated",)
