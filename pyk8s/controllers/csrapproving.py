"""CSR approving: kubelets' client certificate requests are approved automatically.

Upstream's ``csrapproving`` controller (sarapprove) recognises two kinds of
``kubernetes.io/kube-apiserver-client-kubelet`` request whose subject is a
node's (``CN=system:node:<name>``, ``O=system:nodes``, no SANs, client usages):

* ``selfnodeclient``: the requester is that node itself (``spec.username``
  equals the CN): a kubelet renewing its own certificate;
* ``nodeclient``: any requester, typically a bootstrap token
  (``system:bootstrappers``) asking for a node's first certificate.

For each kind it recognises, in that order, it asks the API server through
a SubjectAccessReview whether the requester (``spec.username``, ``uid``,
``groups``, ``extra``) may ``create`` ``certificatesigningrequests/<kind>``
in certificates.k8s.io; the first allowed kind approves the request through
the ``approval`` subresource (reason ``AutoApproved``).  Who may is RBAC's
business: upstream's bootstrap policy has the ClusterRoles
``system:certificates.k8s.io:certificatesigningrequests:nodeclient`` and
``...:selfnodeclient``, which kubeadm binds to ``system:bootstrappers`` and
``system:nodes``.  Nothing else is ever approved or denied here; a request
recognised but not allowed stays pending (and is retried with back-off).

Deviation from upstream, so that a pyk8s node comes up by itself: upstream
approves no ``kubernetes.io/kubelet-serving`` request (an operator or an
add-on must).  pyk8s approves one only when it is exactly what the kubelet's
certificate manager asks for: the requester is ``system:node:<name>`` in
``system:nodes``, the subject is that node's (``CN=system:node:<name>``,
``O=system:nodes``), the usages are serving ones, and the SANs are exactly
the names and addresses the Node reports in ``status.addresses`` (Hostname /
InternalDNS / ExternalDNS as DNS names, InternalIP / ExternalIP as IPs).
Anything else (another node's name, an extra SAN, a missing Node) stays
pending for a human (``kubectl certificate approve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pyk8s.api import certificates_v1 as certs
from pyk8s.client.errors import ApiError, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.controllers.csrsigning import CSRS
from pyk8s.controllers.manager import ControllerContext

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NODES = DynamicResource("", "v1", "nodes", False, "Node")
SUBJECT_ACCESS_REVIEWS = DynamicResource("authorization.k8s.io", "v1", "subjectaccessreviews", False,
                                         "SubjectAccessReview")


@dataclass(frozen=True, slots=True)
class Recognizer:
    subresource: str  # the permission: create certificatesigningrequests/<subresource>
    self_only: bool  # the requester must be the node named in the request
    message: str


RECOGNIZERS = (
    Recognizer("selfnodeclient", True, "Auto approving self kubelet client certificate after SubjectAccessReview."),
    Recognizer("nodeclient", False, "Auto approving kubelet client certificate after SubjectAccessReview."),
)


SERVING_MESSAGE = "Auto approving kubelet serving certificate: requested by the node for its own names and addresses."
ADDRESS_DNS = ("Hostname", "InternalDNS", "ExternalDNS")
ADDRESS_IPS = ("InternalIP", "ExternalIP")


class NotApproved(Exception):
    """Recognised, but the SubjectAccessReview said no (retried with back-off, as upstream's IgnorableError)."""


def recognized(csr: Obj) -> list[Recognizer]:
    """The kinds this pending request is, in the order they are tried."""
    spec = csr.get("spec") or {}
    status = csr.get("status") or {}
    if status.get("certificate") or certs.has_condition(csr, certs.APPROVED) or certs.has_condition(csr, certs.DENIED):
        return []
    if spec.get("signerName") != certs.KUBE_APISERVER_CLIENT_KUBELET:
        return []
    try:
        req = certs.parse_request(certs.decode_bytes(spec.get("request")) or b"")
    except ValueError:
        return []
    if certs.kubelet_client_error(req, [str(u) for u in spec.get("usages") or []]):
        return []
    return [r for r in RECOGNIZERS if not r.self_only or spec.get("username") == certs.common_name(req)]


def pending(csr: Obj) -> bool:
    status = csr.get("status") or {}
    return not (status.get("certificate") or certs.has_condition(csr, certs.APPROVED)
                or certs.has_condition(csr, certs.DENIED))


def serving_node(csr: Obj) -> str:
    """The node a pending kubelet-serving request comes from and is for ('' when it is not such a request)."""
    spec = csr.get("spec") or {}
    if spec.get("signerName") != certs.KUBELET_SERVING or not pending(csr):
        return ""
    try:
        req = certs.parse_request(certs.decode_bytes(spec.get("request")) or b"")
    except ValueError:
        return ""
    user = str(spec.get("username") or "")
    if (certs.kubelet_serving_error(req, [str(u) for u in spec.get("usages") or []])
            or certs.common_name(req) != user or not user.startswith(certs.NODE_PREFIX)
            or certs.NODES_GROUP not in (spec.get("groups") or [])):
        return ""
    return user[len(certs.NODE_PREFIX):]


def serving_sans_match(csr: Obj, node: Obj) -> bool:
    """Whether the request's SANs are exactly the node's reported names and addresses."""
    req = certs.parse_request(certs.decode_bytes((csr.get("spec") or {}).get("request")) or b"")
    sans = certs.request_sans(req)
    addresses = (node.get("status") or {}).get("addresses") or []
    dns = {a.get("address") for a in addresses if a.get("type") in ADDRESS_DNS}
    ips = {a.get("address") for a in addresses if a.get("type") in ADDRESS_IPS}
    return set(sans["dns"]) == dns and {str(ip) for ip in sans["ip"]} == ips


def access_review(csr: Obj, subresource: str) -> Obj:
    """The SubjectAccessReview asking whether the requester may create certificatesigningrequests/<subresource>."""
    spec = csr.get("spec") or {}
    review_spec: Obj = {"user": spec.get("username", ""), "groups": list(spec.get("groups") or []),
                        "resourceAttributes": {"group": certs.GROUP, "version": "*", "verb": "create",
                                               "resource": "certificatesigningrequests",
                                               "subresource": subresource}}
    if spec.get("uid"):
        review_spec["uid"] = spec["uid"]
    if spec.get("extra"):
        review_spec["extra"] = spec["extra"]
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": review_spec}


def approved(csr: Obj, message: str) -> Obj:
    conditions = list((csr.get("status") or {}).get("conditions") or [])
    conditions.append({"type": certs.APPROVED, "status": "True", "reason": "AutoApproved", "message": message})
    return {**csr, "status": {**(csr.get("status") or {}), "conditions": conditions}}


class CSRApprovingController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.csrs = ctx.factory.informer(CSRS)
        self.nodes = ctx.factory.informer(NODES)
        self.controller = Controller("csrapproving", self.sync, informers=[self.csrs, self.nodes], clock=ctx.clock,
                                     workers=int(ctx.option("csrapproving_workers", 1)))
        self.ready = self.controller.ready
        self.csrs.add_event_handler(on_add=self.controller.enqueue,
                                    on_update=lambda old, new: self.controller.enqueue(new))

    async def run(self) -> None:
        await self.controller.run()

    async def allowed(self, csr: Obj, subresource: str) -> bool:
        review = await self.client.create(SUBJECT_ACCESS_REVIEWS, access_review(csr, subresource))
        return bool((review.get("status") or {}).get("allowed"))

    async def sync(self, key: str) -> None:
        csr = self.csrs.lister.get(key)
        if csr is None:
            return
        if (node_name := serving_node(csr)):
            await self.sync_serving(key, csr, node_name)
            return
        tried = []
        for rec in recognized(csr):
            tried.append(rec.subresource)
            if await self.allowed(csr, rec.subresource):
                try:
                    await self.client.update(CSRS, approved(csr, rec.message), subresource="approval")
                except ApiError as exc:
                    if not is_not_found(exc):
                        raise
                return
        if tried:
            raise NotApproved(f"recognized csr {key!r} as {tried} but subject access review was not approved")


    async def sync_serving(self, key: str, csr: Obj, node_name: str) -> None:
        node = self.nodes.lister.get(node_name)
        if node is None:
            raise NotApproved(f"kubelet serving csr {key!r}: node {node_name!r} is not registered (yet)")
        if not serving_sans_match(csr, node):
            log.info("kubelet serving csr %r left pending: its SANs are not node %r's addresses", key, node_name)
            return
        try:
            await self.client.update(CSRS, approved(csr, SERVING_MESSAGE), subresource="approval")
        except ApiError as exc:
            if not is_not_found(exc):
                raise


def new(ctx: ControllerContext) -> CSRApprovingController:
    return CSRApprovingController(ctx)
