"""CertificateSigningRequests: who asked, and the ``approval`` subresource.

On create the requester fields of ``spec`` (``username``, ``uid``,
``groups``, ``extra``) are overwritten with the authenticated user the
request arrived as, as upstream's PrepareForCreate does: a client cannot ask
in someone else's name.  The user is the one the authorization filter put in
the request's context (``authorization.context``, with uid and extra); without
that filter (``AlwaysAllow``), the write options' name and groups.

``approval`` (PUT/PATCH ``.../certificatesigningrequests/<name>/approval``,
what ``kubectl certificate approve|deny`` sends) keeps everything of the
stored object but ``status.conditions``; the strategy's update validation
then allows Approved/Denied to be added but nothing removed.  Timestamps of
new conditions are filled in here, as upstream's approval strategy does.

Upstream's CertificateApproval and CertificateSigning admission plugins act on
these subresource writes, so they live here too: approving or denying needs
``approve``, and setting ``status.certificate`` needs ``sign``, on the
``signers`` resource named after the request's signer (or ``<domain>/*``).
The request's user and authorizer come from the authorization filter
(``authorization.context``); a write the server makes itself has neither and
is trusted.
"""

from __future__ import annotations

import copy
from typing import Any

from pyk8s.api import certificates_v1
from pyk8s.apiserver.authorization.attributes import Attributes
from pyk8s.apiserver.authorization.context import REQUEST, RequestContext
from pyk8s.apiserver.registry import objectmeta
from pyk8s.apiserver.registry.generic import GenericStore
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery import errors

Obj = dict[str, Any]


def requester(opts: WriteOptions) -> Obj:
    """The spec fields naming the user behind the request (empty ones left out, as Go's omitempty):
    the authenticated user the authorization filter saw, else the write options' name and groups."""
    ctx = REQUEST.get()
    if ctx is not None:
        user, groups, uid, extra = ctx.user.username, list(ctx.user.groups), ctx.user.uid, ctx.user.extra
    else:
        user, groups, uid, extra = opts.user, list(opts.groups), "", {}
    fields: Obj = {"username": user}
    if groups:
        fields["groups"] = groups
    if uid:
        fields["uid"] = uid
    if extra:
        fields["extra"] = {k: list(v) for k, v in extra.items()}
    return fields


async def _may(ctx: RequestContext, verb: str, signer: str) -> bool:
    """IsAuthorizedForSignerName: ``verb`` on signers/<signer>, or on signers/<domain>/*."""
    for name in (signer, signer.split("/", 1)[0] + "/*"):
        attrs = Attributes(ctx.user, verb, api_group=certificates_v1.GROUP, api_version="*", resource="signers",
                           name=name)
        if await ctx.authorizer.allowed(attrs):
            return True
    return False


class CertificateSigningRequestStore(GenericStore):
    async def before_create(self, obj: Obj, opts: WriteOptions) -> None:
        spec = obj.setdefault("spec", {})
        for key in ("username", "uid", "groups", "extra"):
            spec.pop(key, None)
        spec.update(requester(opts))

    async def before_update(self, new: Obj, old: Obj, opts: WriteOptions, subresource: str) -> None:
        ctx = REQUEST.get()
        if ctx is None:
            return
        signer = str((old.get("spec") or {}).get("signerName") or "")
        if subresource == "approval":
            verb = "approve"
        elif subresource == "status" and (new.get("status") or {}).get("certificate") != \
                (old.get("status") or {}).get("certificate"):
            verb = "sign"
        else:
            return
        if not await _may(ctx, verb, signer):
            raise errors.forbidden(f'user not permitted to {verb} requests with signerName "{signer}"',
                                   self.resource.plural, old["metadata"]["name"], self.resource.group)

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
