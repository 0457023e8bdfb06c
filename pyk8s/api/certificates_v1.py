"""certificates.k8s.io/v1: CertificateSigningRequest.

A CSR carries a PEM ``CERTIFICATE REQUEST`` (base64 in JSON, ``spec.request``)
for a named signer.  Who asked (``spec.username``, ``uid``, ``groups``,
``extra``) is never taken from the body: the API server fills it from the
authenticated user on create (``registry/certificates``).  The request then
moves through conditions, each written by a different party through its own
subresource, as upstream separates approval from issuance:

* ``approval`` (``kubectl certificate approve|deny``) may add or change the
  ``Approved``/``Denied`` conditions and nothing else;
* ``status`` (the signer) may add other conditions (``Failed``) and set
  ``status.certificate`` once;
* the main resource changes only metadata: spec and status are carried over.

No party may remove an ``Approved``, ``Denied`` or ``Failed`` condition, and a
request is never both approved and denied.  The checks below follow
upstream's ``pkg/apis/certificates/validation`` and word their errors as it does.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pyk8s.api import meta_v1, names
from pyk8s.api.kinds import conditions_field, define_kind, invalid_go, register
from pyk8s.machinery.schema import BYTES, INT32, STRING, STRING_LIST, TIME, Field, MapOf, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError, duplicate, forbidden, invalid, not_supported, required, too_long

if TYPE_CHECKING:  # cryptography (~8 MB) is imported where a request is parsed: every pyk8s.api user loads this module
    from cryptography import x509

Obj = dict[str, Any]
P = "io.k8s.api.certificates.v1"
GROUP = "certificates.k8s.io"
GV = (GROUP, "v1")

APPROVED, DENIED, FAILED = "Approved", "Denied", "Failed"
#: Conditions whose status can only be True, and that no update may remove.
TERMINAL_CONDITIONS = (APPROVED, DENIED, FAILED)
KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
LEGACY_UNKNOWN = "kubernetes.io/legacy-unknown"
MIN_EXPIRATION_SECONDS = 600
VALID_USAGES = sorted([
    "signing", "digital signature", "content commitment", "key encipherment", "key agreement",
    "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth",
    "client auth", "code signing", "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user",
    "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc",
])
_MAX_SIGNER_PATH = names.DNS1123_SUBDOMAIN_MAX + names.DNS1123_LABEL_MAX

define(f"{P}.CertificateSigningRequestSpec", "The certificate request and who made it.", [
    Field("request", BYTES, "A PEM-encoded PKCS#10 CERTIFICATE REQUEST.", required=True, list_type="atomic",
          proto=1),
    Field("signerName", STRING, "Who should sign: kubernetes.io/kube-apiserver-client, "
          "kubernetes.io/kube-apiserver-client-kubelet, kubernetes.io/kubelet-serving or another signer.",
          required=True, proto=7),
    Field("expirationSeconds", INT32, "Requested validity of the certificate (at least 600 seconds); the signer "
          "may issue a shorter one.", proto=8),
    Field("usages", STRING_LIST, "Key usages requested (e.g. 'digital signature', 'client auth').",
          list_type="atomic", proto=5),
    Field("username", STRING, "The user that created the request (set by the server).", proto=2),
    Field("uid", STRING, "The UID of that user (set by the server).", proto=3),
    Field("groups", STRING_LIST, "The groups of that user (set by the server).", list_type="atomic", proto=4),
    Field("extra", MapOf(STRING_LIST), "Extra attributes of that user (set by the server).", proto=6),
])
define(f"{P}.CertificateSigningRequestCondition", "One stage of a request: Approved, Denied or Failed.", [
    Field("type", STRING, "Approved, Denied, Failed, or another condition type.", required=True, proto=1),
    Field("status", STRING, "True, False or Unknown (Approved, Denied and Failed are always True).",
          required=True, proto=6),
    Field("reason", STRING, "A brief reason in CamelCase.", proto=2),
    Field("message", STRING, "Details for humans.", proto=3),
    Field("lastUpdateTime", TIME, "When the condition was last updated.", proto=4),
    Field("lastTransitionTime", TIME, "When the condition last changed status.", proto=5),
])
define(f"{P}.CertificateSigningRequestStatus", "The request's conditions and the issued certificate.", [
    conditions_field(f"{P}.CertificateSigningRequestCondition", 1, "Approved/Denied and Failed conditions."),
    Field("certificate", BYTES, "The issued certificate (PEM CERTIFICATE blocks), set by the signer once "
          "approved.", list_type="atomic", proto=2),
])
define_kind(P, "CertificateSigningRequest", GV, "A request for a certificate signed by a named signer.", [
    Field("spec", Ref(f"{P}.CertificateSigningRequestSpec"), "The request; cannot change after creation.",
          required=True, proto=2),
    Field("status", Ref(f"{P}.CertificateSigningRequestStatus"), "Approval and the issued certificate.", proto=3),
])


# ---------------------------------------------------------------- access


def decode_bytes(value: Any) -> bytes | None:
    """A ``[]byte`` field's value (base64 in the JSON form); None when it is not valid base64."""
    if not value:
        return b""
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def conditions(csr: Obj) -> list[Obj]:
    return [c for c in ((csr.get("status") or {}).get("conditions") or []) if isinstance(c, dict)]


def has_condition(csr: Obj, ctype: str) -> bool:
    return any(c.get("type") == ctype for c in conditions(csr))


def is_approved(csr: Obj) -> bool:
    return has_condition(csr, APPROVED)


def is_denied_or_failed(csr: Obj) -> bool:
    return has_condition(csr, DENIED) or has_condition(csr, FAILED)


def parse_request(pem: bytes) -> x509.CertificateSigningRequest:
    """ParseCSR plus the signature check; ValueError worded as upstream's."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    begin = pem.find(b"-----BEGIN ")
    if begin < 0 or not pem[begin:].startswith(b"-----BEGIN CERTIFICATE REQUEST-----"):
        raise ValueError("PEM block type must be CERTIFICATE REQUEST")
    try:
        csr = x509.load_pem_x509_csr(pem[begin:])
    except ValueError:
        raise ValueError("x509: malformed certificate request") from None
    try:
        ok = csr.is_signature_valid
    except (InvalidSignature, ValueError):
        ok = False
    if not ok:
        raise ValueError("x509: signature verification failure")
    return csr


def go_bytes(data: bytes) -> str:
    """Go's ``%#v`` of a ``[]byte`` (how field.Invalid prints spec.request)."""
    return "[]byte{" + ", ".join(f"0x{b:x}" for b in data) + "}"


# ---------------------------------------------------------------- defaults


def default_conditions(obj: Obj) -> None:
    """SetDefaults_CertificateSigningRequestCondition: an empty status means True."""
    for cond in conditions(obj):
        if not cond.get("status"):
            cond["status"] = "True"


# ---------------------------------------------------------------- validation


def validate_signer_name(name: Any, path: str) -> list[FieldError]:
    """ValidateSignerName: ``<domain>/<path>``, the domain with at least two DNS labels."""
    if not name:
        return [required(path)]
    segments = str(name).split("/")
    if len(segments) != 2:
        return [invalid(path, name, "must be a fully qualified domain and path of the form "
                                    "'example.com/signer-name'")]
    domain, rest = segments
    errs: list[FieldError] = []
    if len(domain) > names.DNS1123_SUBDOMAIN_MAX:
        errs.append(too_long(path, names.DNS1123_SUBDOMAIN_MAX))
    labels = domain.split(".")
    for label in labels:
        msgs = names.is_dns1123_label(label)
        if msgs:
            errs += [invalid(path, domain, f'validating label "{label}": {m}') for m in msgs]
            break
    if len(labels) < 2:
        errs.append(invalid(path, domain, "should be a domain with at least two segments separated by dots"))
    if len(rest) > _MAX_SIGNER_PATH:
        errs.append(too_long(path, _MAX_SIGNER_PATH))
    for component in rest.split("/"):
        msgs = names.is_dns1123_subdomain(component)
        if msgs:
            errs += [invalid(path, rest, f'validating component "{component}": {m}') for m in msgs]
            break
    return errs


def _validate_request(spec: Obj) -> list[FieldError]:
    raw = decode_bytes(spec.get("request"))
    if raw is None:
        return [invalid("spec.request", spec.get("request"), "illegal base64 data")]
    try:
        parse_request(raw)
    except ValueError as exc:
        return [invalid_go("spec.request", go_bytes(raw), str(exc))]
    return []


def _validate_usages(usages: list[Any]) -> list[FieldError]:
    errs: list[FieldError] = []
    if not usages:
        errs.append(required("spec.usages"))
    seen: set[str] = set()
    for i, usage in enumerate(usages):
        if usage not in VALID_USAGES:
            errs.append(not_supported(f"spec.usages[{i}]", usage, VALID_USAGES))
        if usage in seen:
            errs.append(duplicate(f"spec.usages[{i}]", usage))
        seen.add(str(usage))
    return errs


def _validate_conditions(csr: Obj) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    approved = denied = False
    for i, cond in enumerate(conditions(csr)):
        path = f"status.conditions[{i}]"
        ctype, status = cond.get("type") or "", cond.get("status") or ""
        if not ctype:
            errs.append(required(path + ".type"))
        if ctype in TERMINAL_CONDITIONS:
            if status != "True":
                errs.append(not_supported(path + ".status", status, ["True"]))
        elif status not in ("False", "True", "Unknown"):
            errs.append(not_supported(path + ".status", status, ["False", "True", "Unknown"]))
        if ctype == APPROVED:
            approved = True
            if denied:
                errs.append(invalid(path + ".type", ctype, "Approved and Denied conditions are mutually exclusive"))
        elif ctype == DENIED:
            denied = True
            if approved:
                errs.append(invalid(path + ".type", ctype, "Approved and Denied conditions are mutually exclusive"))
        if ctype in seen:
            errs.append(duplicate(path + ".type", ctype))
        seen.add(ctype)
    return errs


def validate_certificate(value: Any) -> str:
    """Upstream's validateCertificate: '' when ``status.certificate`` is empty or only CERTIFICATE blocks."""
    data = decode_bytes(value)
    if data is None:
        return "illegal base64 data"
    if not data:
        return ""
    from cryptography import x509

    blocks = 0
    for block in data.split(b"-----BEGIN ")[1:]:
        kind = block.split(b"-----", 1)[0].decode(errors="replace")
        if kind != "CERTIFICATE":
            return f'only CERTIFICATE PEM blocks are allowed, found "{kind}"'
        try:
            x509.load_pem_x509_certificate(b"-----BEGIN " + block)
        except ValueError as exc:
            return str(exc) or "x509: malformed certificate"
        blocks += 1
    if blocks == 0:
        return "must contain at least one CERTIFICATE PEM block"
    return ""


def validate_csr(csr: Obj) -> list[FieldError]:
    """validateCertificateSigningRequest (names are free: 'we don't care what you call' them)."""
    errs = meta_v1.validate_object_meta(csr, namespaced=False, name_fn=lambda _name: [])
    spec = csr.get("spec") or {}
    errs += _validate_request(spec)
    errs += _validate_usages(list(spec.get("usages") or []))
    signer = spec.get("signerName")
    if signer == LEGACY_UNKNOWN:
        errs.append(invalid("spec.signerName", signer, "the legacy signerName is not allowed via this API version"))
    else:
        errs += validate_signer_name(signer, "spec.signerName")
    seconds = spec.get("expirationSeconds")
    if isinstance(seconds, int) and seconds < MIN_EXPIRATION_SECONDS:
        errs.append(invalid("spec.expirationSeconds", seconds,
                            "may not specify a duration less than 600 seconds (10 minutes)"))
    errs += _validate_conditions(csr)
    cert_err = validate_certificate((csr.get("status") or {}).get("certificate"))
    if cert_err:
        errs.append(invalid_go("status.certificate", "<certificate data>", cert_err))
    return errs


def validate_csr_update(new: Obj, old: Obj, *, approval: bool = False, status: bool = False) -> list[FieldError]:
    """validateCertificateSigningRequestUpdate: ``approval`` may set Approved/Denied, ``status`` the certificate."""
    errs = validate_csr(new) + meta_v1.validate_object_meta_update(new, old)
    for ctype in TERMINAL_CONDITIONS:
        if _count(new, ctype) < _count(old, ctype):
            errs.append(forbidden("status.conditions", f'updates may not remove a condition of type "{ctype}"'))
    if not approval:
        for ctype in (APPROVED, DENIED):
            olds, news = _of_type(old, ctype), _of_type(new, ctype)
            if len(news) > len(olds):
                errs.append(forbidden("status.conditions", f'updates may not add a condition of type "{ctype}"'))
            elif len(news) == len(olds) and news != olds:
                errs.append(forbidden("status.conditions", f'updates may not modify a condition of type "{ctype}"'))
    new_cert = (new.get("status") or {}).get("certificate") or ""
    old_cert = (old.get("status") or {}).get("certificate") or ""
    if new_cert != old_cert:
        if not status:
            errs.append(forbidden("status.certificate", "updates may not set certificate content"))
        elif old_cert:
            errs.append(forbidden("status.certificate", "updates may not modify existing certificate content"))
    return errs


def _of_type(csr: Obj, ctype: str) -> list[Obj]:
    return [c for c in conditions(csr) if c.get("type") == ctype]


def _count(csr: Obj, ctype: str) -> int:
    return len(_of_type(csr, ctype))


# ---------------------------------------------------------------- strategy


def populate_condition_timestamps(new: Obj, old: Obj, now: str) -> None:
    """lastUpdateTime defaults to now; lastTransitionTime is kept from an old condition of the same type and status."""
    for cond in conditions(new):
        if not cond.get("lastUpdateTime"):
            cond["lastUpdateTime"] = now
        if not cond.get("lastTransitionTime"):
            previous = next((c.get("lastTransitionTime") for c in conditions(old)
                             if c.get("type") == cond.get("type") and c.get("status") == cond.get("status")
                             and c.get("lastTransitionTime")), None)
            cond["lastTransitionTime"] = previous or now


class CSRStrategy(Strategy):
    """Main-resource updates keep spec and status; the approval/status subresources are in the store."""

    tracks_generation = False
    field_selectors = {"spec.signerName": lambda o: str((o.get("spec") or {}).get("signerName") or "")}

    def default(self, obj: Obj) -> None:
        default_conditions(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        for key in ("spec", "status"):
            if key in old:
                new[key] = old[key]
            else:
                new.pop(key, None)

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_status_update(new, old)
        default_conditions(new)
        populate_condition_timestamps(new, old, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def validate(self, obj: Obj) -> list[FieldError]:
        return validate_csr(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        # Main updates carry status over (so approval changes cannot happen there); the store calls this for
        # the approval subresource too, which may set Approved/Denied.
        return validate_csr_update(new, old, approval=True)

    def validate_status_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return validate_csr_update(new, old, status=True)


register(group=GROUP, version="v1", kind="CertificateSigningRequest", plural="certificatesigningrequests",
         namespaced=False, strategy=CSRStrategy(), schema=f"{P}.CertificateSigningRequest", short_names=("csr",),
         subresources=("approval", "status"))


# ---------------------------------------------------------------- signer rules (signer and approver share them)

KUBELET_CLIENT_USAGES = ({"digital signature", "key encipherment", "client auth"}, {"digital signature", "client auth"})
KUBELET_SERVING_USAGES = ({"digital signature", "key encipherment", "server auth"}, {"digital signature", "server auth"})
NODE_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"


def _subject(req: x509.CertificateSigningRequest) -> tuple[str, list[str]]:
    from cryptography import x509

    cns = req.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    orgs = req.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    return (str(cns[0].value) if cns else ""), [str(o.value) for o in orgs]


def request_sans(req: x509.CertificateSigningRequest) -> dict[str, list[Any]]:
    """The subjectAltNames a request asks for, by kind (dns, ip, email, uri)."""
    from cryptography import x509

    try:
        ext = req.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return {"dns": [], "ip": [], "email": [], "uri": []}
    return {"dns": ext.get_values_for_type(x509.DNSName), "ip": ext.get_values_for_type(x509.IPAddress),
            "email": ext.get_values_for_type(x509.RFC822Name),
            "uri": ext.get_values_for_type(x509.UniformResourceIdentifier)}


def common_name(req: x509.CertificateSigningRequest) -> str:
    return _subject(req)[0]


def _usages_error(usages: set[str], allowed: tuple[set[str], set[str]]) -> str:
    if usages in allowed:
        return ""
    return "usages did not match [" + " ".join(sorted(allowed[0])) + "]"


def kubelet_client_error(req: x509.CertificateSigningRequest, usages: list[str]) -> str:
    """ValidateKubeletClientCSR: '' when the request is a kubelet's client certificate request."""
    cn, orgs = _subject(req)
    sans = request_sans(req)
    if orgs != [NODES_GROUP]:
        return "subject organization is not system:nodes"
    for kind, what in (("dns", "DNS"), ("email", "Email"), ("ip", "IP"), ("uri", "URI")):
        if sans[kind]:
            return f"{what} subjectAltNames are not allowed"
    if not cn.startswith(NODE_PREFIX):
        return "subject common name does not begin with system:node:"
    return _usages_error(set(usages), KUBELET_CLIENT_USAGES)


def kubelet_serving_error(req: x509.CertificateSigningRequest, usages: list[str]) -> str:
    """ValidateKubeletServingCSR: '' when the request is a kubelet's serving certificate request."""
    cn, orgs = _subject(req)
    sans = request_sans(req)
    if orgs != [NODES_GROUP]:
        return "subject organization is not system:nodes"
    if not sans["dns"] and not sans["ip"]:
        return "DNS or IP subjectAltName is required"
    if sans["email"]:
        return "Email subjectAltNames are not allowed"
    if sans["uri"]:
        return "URI subjectAltNames are not allowed"
    err = _usages_error(set(usages), KUBELET_SERVING_USAGES)
    if err:
        return err
    if not cn.startswith(NODE_PREFIX):
        return "subject common name does not begin with system:node:"
    return ""


def apiserver_client_error(usages: list[str]) -> str:
    """validAPIServerClientUsages: client auth required, digital signature and key encipherment optional."""
    for usage in usages:
        if usage not in ("digital signature", "key encipherment", "client auth"):
            return f"invalid usage for client certificate: {usage}"
    if "client auth" not in usages:
        return "missing required usage for client certificate: client auth"
    return ""
