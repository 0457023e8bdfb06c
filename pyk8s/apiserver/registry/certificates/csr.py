"""CertificateSigningRequests: who asked, and the ``approval`` subresource.

On create the requester fields of ``spec`` (``username``, ``uid``,
``groups``, ``extra``) are overwritten with the authenticated user the
request arrived as, as upstream's PrepareForCreate does: a client cannot ask
in someone else's name.  The store reads the user from the write options the
HTTP layer fills (``WriteOptions.user`` and, where present, its groups, uid
and extra), so it does not depend on how authentication found them.

``approval`` (PUT/PATCH ``.../certificatesigningrequests/<name>/approval``,
what ``kubectl certificate approve|deny`` sends) keeps everything of the
stored object but ``status.conditions``; the strategy's update validation
then allows Approved/Denied to be added but nothing removed.  Timestamps of
new conditions are filled in here, as upstream's approval strategy does.
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.api import certificates_v1
from pyk8s.apiserver.registry import objectmeta
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import WriteOptions

Obj = dict[str, Any]


def requester(opts: WriteOptions) -> Obj:
    """The spec fields naming the user behind ``opts`` (empty ones left out, as Go's omitempty)."""
    fields: Obj = {"username": opts.user}
    groups = list(getattr(opts, "groups", ()) or ())
    if groups:
        fields["groups"] = groups
    uid = getattr(opts, "uid", "") or ""
    if uid:
        fields["uid"] = uid
    extra = getattr(opts, "extra", None) or {}
    if extra:
        fields["extra"] = {k: list(v) for k, v in extra.items()}
    return fields


class CertificateSigningRequestStore(GenericStore):
    async def before_create(self, obj: Obj, opts: WriteOptions) -> None:
        spec = obj.setdefault("spec", {})
        for key in ("username", "uid", "groups", "extra"):
            spec.pop(key, None)
        spec.update(requester(opts))

    def _prepare_subresource(self, new: Obj, old: Obj, subresource: str) -> None:
        if subresource != "approval":
            super()._prepare_subresource(new, old, subresource)
            return
        wanted = (new.get("status") or {}).get("conditions")
        meta = new["metadata"]
        new.clear()
        new.update(copy.deepcopy(old))
        new["metadata"] = meta
        status = new.setdefault("status", {})
        if wanted:
            status["conditions"] = copy.deepcopy(wanted)
        else:
            status.pop("conditions", None)
        certificates_v1.default_conditions(new)
        certificates_v1.populate_condition_timestamps(new, old, objectmeta.now_rfc3339())
