"""ServiceAccounts.

The ``serviceaccounts/token`` body (authentication.k8s.io/v1 TokenRequest) is
declared with the authentication types in ``pyk8s.api.authorization``; token
issuing is the API server's, since it owns the signing key.
"""

from __future__ import annotations

from typing import Any

from pyk8s.api import meta_v1
from pyk8s.api.core_v1.common import LOCAL_OBJECT_REFERENCE, OBJECT_REFERENCE, P, register_kind
from pyk8s.machinery.schema import BOOL, ArrayOf, Field, Ref, define
from pyk8s.machinery.scheme import Strategy
from pyk8s.machinery.validation import FieldError

Obj = dict[str, Any]

define(P + "ServiceAccount", "An identity for processes running in pods.", [
    *meta_v1.type_meta_fields(),
    Field("secrets", ArrayOf(Ref(OBJECT_REFERENCE)), "Secrets pods of this account may use (legacy).",
          merge_key="name", strategy="merge", list_type="map", list_map_keys=("name",)),
    Field("imagePullSecrets", ArrayOf(Ref(LOCAL_OBJECT_REFERENCE)), "Secrets added to pods for pulling images.",
          list_type="atomic"),
    Field("automountServiceAccountToken", BOOL, "Whether pods mount an API token by default."),
], gvk=("", "v1", "ServiceAccount"))


class ServiceAccountStrategy(Strategy):
    return_deleted_object = True
    has_status = False
    tracks_generation = False

    def validate(self, obj: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta(obj, namespaced=True)

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return meta_v1.validate_object_meta_update(new, old)


SERVICEACCOUNTS = register_kind(kind="ServiceAccount", plural="serviceaccounts", namespaced=True,
                                strategy=ServiceAccountStrategy(), short_names=("sa",), subresources=("token",))
