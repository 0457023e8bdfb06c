"""Keeping static pods' mirror pods in the API (upstream's mirror client and the pod manager's view).

``reconcile(key, api_pod)`` is called by each pod sync with what the API
holds under that key and returns the pod the kubelet must run there:

* a static pod exists for the key: its mirror is created if missing,
  recreated if it is stale (from an older manifest) or being deleted, and the
  static pod is returned carrying the mirror's status (so start time and
  transition times persist);
* no static pod, but the API pod is a mirror: it is an orphan (its manifest
  went away): it is deleted, and nothing runs;
* otherwise the API pod itself.

``mirror(pod)`` is the mirror a static pod's status is written to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pyk8s.client.errors import ApiError
from pyk8s.client.rest import PODS, Client
from pyk8s.kubelet import staticpods
from pyk8s.kubelet.status.manager import StatusManager

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class MirrorPods:
    def __init__(self, client: Client, static: staticpods.StaticPods, node_uid: Callable[[], str],
                 statuses: StatusManager) -> None:
        self.client, self.static, self.node_uid = client, static, node_uid
        # A mirror goes the way a finished pod does: DELETE now, only that UID, someone else's 404/409 is fine.
        self._delete = statuses.confirm_deletion
        self._mirrors: dict[str, Obj] = {}  # key -> the mirror as last seen or written

    def is_static(self, pod: Obj) -> bool:
        return staticpods.HASH in ((pod.get("metadata") or {}).get("annotations") or {}) \
            and not staticpods.is_mirror(pod)

    def mirror(self, pod: Obj) -> Obj | None:
        meta = pod.get("metadata") or {}
        return self._mirrors.get(f"{meta.get('namespace')}/{meta.get('name')}")

    async def reconcile(self, key: str, api_pod: Obj | None) -> Obj | None:
        static = self.static.get(key)
        if static is None:
            if api_pod is not None and staticpods.is_mirror(api_pod):
                await self._delete(api_pod)
                self._mirrors.pop(key, None)
                return None
            return api_pod
        mirror = api_pod if api_pod is not None and staticpods.is_mirror(api_pod) else None
        if mirror is not None and (not staticpods.mirror_matches(mirror, static)
                                   or (mirror.get("metadata") or {}).get("deletionTimestamp")):
            await self._delete(mirror)
            mirror = None
        if mirror is None:
            mirror = await self._create(static)
        if mirror is not None:
            self._mirrors[key] = mirror
        return {**static, "status": (mirror or {}).get("status") or {}}

    async def _create(self, static: Obj) -> Obj | None:
        try:
            created: Obj = await self.client.create(PODS, staticpods.mirror_of(static, self.node_uid()),
                                                    namespace=static["metadata"]["namespace"])
            return created
        except ApiError as exc:
            # 409: the old mirror is still on its way out; the next sync (the informer's delete event) retries.
            log.info("mirror pod %s: %s", static["metadata"]["name"], exc.message)
            return None
