"""Rows for rbac.authorization.k8s.io: roles print their creation time as
"Created At"; bindings print the role reference and, wide, their subjects."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyk8s.apiserver.printers.cells import Obj, dig, name_of
from pyk8s.apiserver.printers.duration import rfc3339, since
from pyk8s.apiserver.printers.table import Column, age_column, name_column, register, wide

GROUP = "rbac.authorization.k8s.io"
CREATED_AT = Column("Created At", "date", "When the object was created (metadata.creationTimestamp).")


def _role_row(obj: Obj, now: datetime) -> list[Any]:
    return [name_of(obj), rfc3339(dig(obj, "metadata", "creationTimestamp"))]


register(GROUP, "Role", [name_column(), CREATED_AT])(_role_row)
register(GROUP, "ClusterRole", [name_column(), CREATED_AT])(_role_row)


def subjects(obj: Obj) -> tuple[str, str, str]:
    """Users, groups and service accounts (``namespace/name``), each joined with ``, ``."""
    users, groups, sas = [], [], []
    for subject in obj.get("subjects") or []:
        kind, name = subject.get("kind"), str(subject.get("name", ""))
        if kind == "ServiceAccount":
            sas.append(f"{subject.get('namespace', '')}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return ", ".join(users), ", ".join(groups), ", ".join(sas)


def _binding_row(obj: Obj, now: datetime) -> list[Any]:
    ref = obj.get("roleRef") or {}
    return [
        name_of(obj),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        since(dig(obj, "metadata", "creationTimestamp"), now),
        *subjects(obj),
    ]


def _binding_columns(what: str) -> list[Column]:
    return [
        name_column(),
        Column("Role", description="The role this binding grants (kind/name)."),
        age_column(),
        wide("Users", f"Users in the {what}."),
        wide("Groups", f"Groups in the {what}."),
        wide("ServiceAccounts", f"Service accounts in the {what}."),
    ]


register(GROUP, "RoleBinding", _binding_columns("roleBinding"))(_binding_row)
register(GROUP, "ClusterRoleBinding", _binding_columns("clusterRoleBinding"))(_binding_row)
