"""The eviction subresource's decision: delete a pod unless that would break its disruption budget.

As upstream's ``EvictionREST``:

* a pod that is terminal, Pending or already being deleted is deleted without consulting budgets;
* no budget selects the pod: deleted;
* more than one budget: 500 ``This pod has more than one PodDisruptionBudget, which the eviction
  subresource does not support.``;
* one budget: if its controller has not seen its newest spec (``observedGeneration`` behind), 429
  with the cause "The disruption budget <name> is still being processed by the server."; if it
  allows no disruption, 429 ``Cannot evict pod as it would violate the pod's disruption budget.``
  with a ``DisruptionBudget`` cause "The disruption budget <name> needs N healthy pods and has M
  currently"; else ``disruptionsAllowed`` is decremented and the pod recorded in ``disruptedPods``
  (a compare-and-swap on the budget's status, retried on conflict) before the pod is deleted, so the
  controller does not count it healthy meanwhile.  An unready pod may go without spending the
  budget when the budget is healthy (``IfHealthyBudget``, the default) or always (``AlwaysAllow``).

Dry runs check but change nothing.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from pyk8s.api import policy_v1
from pyk8s.api.core_v1.helpers import podready, timestamps
from pyk8s.apiserver.registry import cachedreads
from pyk8s.apiserver.registry.bundle import Peers
from pyk8s.apiserver.registry.rest import DeleteOptions, RESTStorage, WriteOptions
from pyk8s.machinery import errors

if TYPE_CHECKING:
    from pyk8s.apiserver.registry.generic import GenericStore

Obj = dict[str, Any]
MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget."
MAX_DISRUPTED_PODS = 2000
RETRIES = 10


def too_many_requests(cause: str, retry_after: int = 0) -> errors.StatusError:
    return errors.StatusError(429, "TooManyRequests", MESSAGE, retry_after_seconds=retry_after,
                              causes=[errors.Cause(policy_v1.DISRUPTION_BUDGET_CAUSE, cause)])


def ignores_budgets(pod: Obj) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def spend(pdb: Obj, pod: Obj, now: datetime.datetime) -> Obj | None:
    """The budget's new status if evicting ``pod`` spends a disruption; None if it may go for free.
    Raises the refusal when the budget forbids it."""
    status = dict(pdb.get("status") or {})
    name = pdb["metadata"]["name"]
    if int(status.get("observedGeneration") or 0) < int(pdb["metadata"].get("generation") or 0):
        raise too_many_requests(f"The disruption budget {name} is still being processed by the server.", 10)
    allowed = int(status.get("disruptionsAllowed") or 0)
    if not podready.is_pod_ready(pod):
        policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") or "IfHealthyBudget"
        healthy, desired = int(status.get("currentHealthy") or 0), int(status.get("desiredHealthy") or 0)
        if policy == "AlwaysAllow" or (desired > 0 and healthy >= desired):
            return None
    if allowed < 0:
        raise errors.forbidden("pdb disruptions allowed is negative", "poddisruptionbudget", name, "policy")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise errors.forbidden("DisruptedPods map too big - too many evictions not confirmed by PDB controller",
                               "poddisruptionbudget", name, "policy")
    if allowed == 0:
        raise too_many_requests(f"The disruption budget {name} needs {status.get('desiredHealthy', 0)} healthy "
                                f"pods and has {status.get('currentHealthy', 0)} currently")
    status["disruptionsAllowed"] = allowed - 1
    stamp = timestamps.format_time(now)
    if allowed - 1 == 0:
        policy_v1.set_disruption_condition(status, stamp)
    status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod["metadata"]["name"]: stamp}
    return status


async def evict(pods: RESTStorage, budgets: GenericStore | None, namespace: str, name: str,
                opts: DeleteOptions) -> None:
    """Check the budgets, spend one, delete the pod (or raise the refusal)."""
    for _ in range(RETRIES):
        pod = await pods.get(namespace, name)
        if budgets is None or ignores_budgets(pod):
            break
        matching = [b for b in await cachedreads.namespace_items(budgets, namespace) if policy_v1.selects(b, pod)]
        if not matching:
            break
        if len(matching) > 1:
            raise errors.internal("This pod has more than one PodDisruptionBudget, which the eviction subresource "
                                  "does not support.")
        # The budget as stored now: its status is what this decision changes.
        pdb = await budgets.get(namespace, matching[0]["metadata"]["name"])
        status = spend(pdb, pod, datetime.datetime.now(datetime.UTC))
        if status is None or opts.dry_run:
            break
        try:
            await budgets.update(namespace, pdb["metadata"]["name"], {**pdb, "status": status},
                                 WriteOptions(), subresource="status")
        except errors.StatusError as exc:
            if exc.reason == "Conflict":
                continue
            raise
        break
    else:
        raise errors.StatusError(429, "TooManyRequests", MESSAGE)
    await pods.delete(namespace, name, opts)


SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


class PodEviction:
    """``POST pods/{name}/eviction``: the Eviction body checked as upstream checks it, then ``evict``."""

    def __init__(self, store: RESTStorage) -> None:
        self.store = store

    async def create(self, namespace: str, name: str, body: Obj, opts: WriteOptions, peers: Peers) -> Obj:
        from pyk8s.apiserver.endpoints import params  # the DeleteOptions decoding the DELETE verb uses

        api_version = body.get("apiVersion") or "policy/v1"
        if api_version not in ("policy/v1", "policy/v1beta1"):
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     "API version (policy/v1)")
        if body.get("kind") not in (None, "", "Eviction"):
            raise errors.bad_request(f"the kind in the data ({body.get('kind')}) does not match the expected kind "
                                     "(Eviction)")
        named = (body.get("metadata") or {}).get("name")
        if named and named != name:
            raise errors.bad_request(f"name in URL does not match name in Eviction object: {name} != {named}")
        delete_opts = params.delete_options({}, ["All"] if opts.dry_run else [], body.get("deleteOptions") or {})
        budgets = peers.lookup("policy", "poddisruptionbudgets")
        # The budgets are read from the watch caches: a store without one (a test fake) has no budgets to consult.
        await evict(self.store, budgets if hasattr(budgets, "watch_cache") else None, namespace, name, delete_opts)
        return dict(SUCCESS)


__all__ = ["MESSAGE", "PodEviction", "evict", "ignores_budgets", "spend"]
