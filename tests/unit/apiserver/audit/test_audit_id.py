"""Audit IDs made without ``uuid.uuid4()``: still random version-4 UUIDs in the canonical text form."""

import uuid

from pyk8s.apiserver.audit.filter import new_audit_id


def test_new_audit_ids_are_canonical_random_v4_uuids() -> None:
    ids = [new_audit_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        u = uuid.UUID(text)
        assert str(u) == text  # lower-case hex, 8-4-4-4-12
        assert u.version == 4 and u.variant == uuid.RFC_4122
