"""Patch formats the API server accepts: RFC 6902 JSON patch (``jsonpatch``),
RFC 7386 merge patch (``mergepatch``) and Kubernetes' strategic merge patch
(``strategic``).  Each function takes plain dicts, never mutates its inputs and
raises ``StatusError`` with the code and wording Kubernetes uses.
"""

from pyk8s.machinery.patch.jsonpatch import apply_json_patch
from pyk8s.machinery.patch.mergepatch import apply_merge_patch
from pyk8s.machinery.patch.strategic import apply_strategic

__all__ = ["apply_json_patch", "apply_merge_patch", "apply_strategic"]
