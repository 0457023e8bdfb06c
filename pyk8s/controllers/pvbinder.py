"""PersistentVolume binder: pairs claims with volumes and runs reclaim policies.

Claims (key ``pvc/<ns>/<name>``):

* unbound: find the best PV: not being deleted, unclaimed or pre-bound to
  this claim (``claimRef`` by name, and uid if set), same
  ``storageClassName`` ("" and unset are the same), same ``volumeMode``
  (default Filesystem), every requested access mode offered, capacity >= the
  request, labels matching ``spec.selector``; a PV pre-bound to the claim
  wins, else the smallest fitting one.  A claim that names
  ``spec.volumeName`` only takes that PV (whatever its class's binding mode,
  never provisioned for), and a PV that cannot serve it is a
  ``VolumeMismatch`` event ("Cannot bind to requested volume ...").  With a ``WaitForFirstConsumer``
  StorageClass nothing happens until the scheduler sets the
  ``volume.kubernetes.io/selected-node`` annotation, and then only PVs whose
  ``nodeAffinity`` admits that node qualify.
* binding writes the PV first (``claimRef``, annotation
  ``pv.kubernetes.io/bound-by-controller``; status phase Bound), then the
  claim (``spec.volumeName``, ``pv.kubernetes.io/bind-completed``; status
  phase Bound with the PV's capacity and access modes).  A crash between the
  two is repaired by the next sync: the PV already points at the claim.
* bound: keeps the status at Bound, or Lost when its PV disappeared.
* no volume fits: events as upstream's PV controller writes them on the
  claim: ``FailedBinding`` without a class, ``ProvisioningFailed`` when the
  class does not exist, ``WaitForFirstConsumer`` while no node is selected,
  else the claim is annotated with its provisioner
  (``volume.kubernetes.io/storage-provisioner`` and the beta key) and
  ``ExternalProvisioning`` says it waits for it.

A claim's or volume's class is the beta annotation
``volume.beta.kubernetes.io/storage-class`` when present, else
``spec.storageClassName``.

Volumes (key ``pv/<name>``): no claimRef -> Available; claimRef to a claim
that is gone (or has another uid) -> Released; under ``Delete`` a released
volume is then deleted, unless a provisioner made it
(``pv.kubernetes.io/provisioned-by``): that provisioner removes its storage
and then the PV, as upstream leaves it to external provisioners.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from pyk8s.api.core_v1.helpers.nodeaffinity import volume_node_affinity_matches
from pyk8s.api.core_v1.persistentvolume import storage_class_name
from pyk8s.client.errors import ApiError, is_conflict, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.client.tools.store import DeletedFinalStateUnknown
from pyk8s.controllers import workload
from pyk8s.controllers.manager import ControllerContext
from pyk8s.machinery import labels, quantity

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PVS = DynamicResource("", "v1", "persistentvolumes", False, "PersistentVolume")
PVCS = DynamicResource("", "v1", "persistentvolumeclaims", True, "PersistentVolumeClaim")
CLASSES = DynamicResource("storage.k8s.io", "v1", "storageclasses", False, "StorageClass")
NODES = DynamicResource("", "v1", "nodes", False, "Node")

BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
MSG_NO_CLASS = "no persistent volumes available for this claim and no storage class is set"
MSG_WAIT_CONSUMER = "waiting for first consumer to be created before binding"


# --- matching (pure) ------------------------------------------------------------------------------

def _class(obj: Obj) -> str:
    return storage_class_name(obj)


def _mode(obj: Obj) -> str:
    return str((obj.get("spec") or {}).get("volumeMode") or "Filesystem")


def _capacity(pv: Obj) -> str:
    return str(((pv.get("spec") or {}).get("capacity") or {}).get("storage") or "0")


def _request(pvc: Obj) -> str:
    return str((((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage") or "0")


def claim_ref_matches(pv: Obj, pvc: Obj) -> bool:
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref:
        return False
    meta = pvc["metadata"]
    return (ref.get("name") == meta["name"] and (ref.get("namespace") or "") == meta.get("namespace", "")
            and (not ref.get("uid") or ref.get("uid") == meta.get("uid")))


def node_affinity_admits(pv: Obj, node: Obj | None) -> bool:
    """Whether ``spec.nodeAffinity.required`` allows the node (no affinity: any node)."""
    return volume_node_affinity_matches(pv, node)


def pv_fits(pv: Obj, pvc: Obj) -> bool:
    spec = pv.get("spec") or {}
    if pv["metadata"].get("deletionTimestamp"):
        return False
    if spec.get("claimRef") and not claim_ref_matches(pv, pvc):
        return False
    if (pv.get("status") or {}).get("phase") in ("Released", "Failed") and not claim_ref_matches(pv, pvc):
        return False
    if _class(pv) != _class(pvc) or _mode(pv) != _mode(pvc):
        return False
    if not set((pvc.get("spec") or {}).get("accessModes") or []) <= set(spec.get("accessModes") or []):
        return False
    if quantity.compare(_capacity(pv), _request(pvc)) < 0:
        return False
    selector = (pvc.get("spec") or {}).get("selector")
    return not selector or labels.from_label_selector(selector).matches(pv["metadata"].get("labels") or {})


def requested_volume_mismatch(pv: Obj, pvc: Obj) -> str:
    """Why the volume a claim names in ``spec.volumeName`` cannot serve it ("" if it can), in upstream's
    words (``checkVolumeSatisfyClaim``: no selector or node check for a volume asked for by name)."""
    if pv["metadata"].get("deletionTimestamp"):
        return f'the volume is marked for deletion "{pv["metadata"]["name"]}"'
    if quantity.compare(_capacity(pv), _request(pvc)) < 0:
        return "requested PV is too small"
    if _class(pv) != _class(pvc):
        return "storageClassName does not match"
    if _mode(pv) != _mode(pvc):
        return "incompatible volumeMode"
    if not set((pvc.get("spec") or {}).get("accessModes") or []) <= set((pv.get("spec") or {}).get("accessModes")
                                                                          or []):
        return "incompatible accessMode"
    return ""


def find_best_pv(pvc: Obj, pvs: list[Obj], node: Obj | None = None, *, check_node: bool = False) -> Obj | None:
    """The PV to bind: pre-bound first, else the smallest that fits."""
    wanted_name = (pvc.get("spec") or {}).get("volumeName")
    fits = [pv for pv in pvs if pv_fits(pv, pvc) and (not wanted_name or pv["metadata"]["name"] == wanted_name)
            and (not check_node or node_affinity_admits(pv, node))]
    if not fits:
        return None
    pre = [pv for pv in fits if claim_ref_matches(pv, pvc)]
    if pre:
        return pre[0]
    best = fits[0]
    for pv in fits[1:]:
        c = quantity.compare(_capacity(pv), _capacity(best))
        if c < 0 or (c == 0 and pv["metadata"]["name"] < best["metadata"]["name"]):
            best = pv
    return best


def claim_ref(pvc: Obj) -> Obj:
    meta = pvc["metadata"]
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": meta.get("namespace", ""),
            "name": meta["name"], "uid": meta.get("uid", ""), "resourceVersion": meta.get("resourceVersion", "")}


# --- the controller -------------------------------------------------------------------------------

class PersistentVolumeBinder:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.pvs = ctx.factory.informer(PVS)
        self.pvcs = ctx.factory.informer(PVCS)
        self.classes = ctx.factory.informer(CLASSES)
        self.nodes = ctx.factory.informer(NODES)
        self.controller = Controller("pvbinder", self.sync, clock=ctx.clock,
                                     informers=[self.pvs, self.pvcs, self.classes, self.nodes])
        self.recorder = EventRecorder(ctx.client, component="persistentvolume-controller", clock=ctx.clock)
        q = self.controller.queue
        self.pvcs.add_event_handler(on_add=lambda o: q.add(_pvc_key(o)), on_update=lambda o, n: q.add(_pvc_key(n)),
                                    on_delete=self._pvc_deleted)
        self.pvs.add_event_handler(on_add=self._pv_changed, on_update=lambda o, n: self._pv_changed(n),
                                   on_delete=self._pv_deleted)
        self.ready = self.controller.ready

    def _pvc_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pvc = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        name = (pvc.get("spec") or {}).get("volumeName")
        if name:
            self.controller.queue.add(f"pv/{name}")
        for pv in self.pvs.lister.list():
            if claim_ref_matches(pv, pvc):
                self.controller.queue.add(f"pv/{pv['metadata']['name']}")

    def _pv_changed(self, pv: Obj) -> None:
        self.controller.queue.add(f"pv/{pv['metadata']['name']}")
        # A new or freed volume may satisfy waiting claims.
        for pvc in self.pvcs.lister.list():
            wanted = (pvc.get("spec") or {}).get("volumeName")
            if not wanted or wanted == pv["metadata"]["name"] or claim_ref_matches(pv, pvc):
                self.controller.queue.add(_pvc_key(pvc))

    def _pv_deleted(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        pv = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        for pvc in self.pvcs.lister.list():
            if (pvc.get("spec") or {}).get("volumeName") == pv["metadata"]["name"]:
                self.controller.queue.add(_pvc_key(pvc))

    async def run(self) -> None:
        await workload.run_with_recorder(self.controller, self.recorder)

    async def sync(self, key: str) -> None:
        kind, _, rest = key.partition("/")
        if kind == "pv":
            pv = self.pvs.lister.get(rest)
            if pv is not None:
                await self.sync_volume(pv)
            return
        ns, _, name = rest.partition("/")
        pvc = self.pvcs.lister.get(name, ns)
        if pvc is not None and not pvc["metadata"].get("deletionTimestamp"):
            await self.sync_claim(pvc)

    # --- claims ---------------------------------------------------------------------------

    async def sync_claim(self, pvc: Obj) -> None:
        volume_name = (pvc.get("spec") or {}).get("volumeName")
        annotations = pvc["metadata"].get("annotations") or {}
        if volume_name and annotations.get(BIND_COMPLETED):
            pv = self.pvs.lister.get(volume_name)
            if pv is None or not claim_ref_matches(pv, pvc):
                if pv is None:
                    await self._claim_status(pvc, "Lost", None)
                return
            await self._claim_status(pvc, "Bound", pv)
            return
        if volume_name:
            await self._sync_requested(pvc, volume_name)
            return
        cls = self.classes.lister.get(_class(pvc)) if _class(pvc) else None
        wait = (cls or {}).get("volumeBindingMode") == "WaitForFirstConsumer"
        node = None
        if wait:
            selected = annotations.get(SELECTED_NODE)
            if not selected:
                self.recorder.event(pvc, "Normal", "WaitForFirstConsumer", MSG_WAIT_CONSUMER)
                await self._claim_status(pvc, "Pending", None)
                return
            node = self.nodes.lister.get(selected)
        pv = find_best_pv(pvc, self.pvs.lister.list(), node, check_node=wait)
        if pv is None:
            await self._no_volume(pvc, cls)
            return
        await self.bind(pv, pvc)

    async def _sync_requested(self, pvc: Obj, volume_name: str) -> None:
        """A claim that names its volume binds to that one only, and is never provisioned for."""
        pv = self.pvs.lister.get(volume_name)
        if pv is None:
            await self._claim_status(pvc, "Pending", None)  # it may be created later
            return
        if claim_ref_matches(pv, pvc):
            await self.bind(pv, pvc)
            return
        if (pv.get("spec") or {}).get("claimRef"):
            # Another claim holds it: wait for it, unless the binder itself paired this claim (then two claims
            # point at one volume, which only a hand edit of the bind annotations can cause).
            if (pvc["metadata"].get("annotations") or {}).get(BOUND_BY_CONTROLLER):
                self.recorder.event(pvc, "Warning", "FailedBinding",
                                    "Two claims are bound to the same volume, this one is bound incorrectly")
            await self._claim_status(pvc, "Pending", None)
            return
        why = requested_volume_mismatch(pv, pvc)
        if why:
            self.recorder.event(pvc, "Warning", "VolumeMismatch", f'Cannot bind to requested volume "{volume_name}": '
                                                                  f"{why}")
            await self._claim_status(pvc, "Pending", None)
            return
        await self.bind(pv, pvc)

    async def _no_volume(self, pvc: Obj, cls: Obj | None) -> None:
        """No PV fits: say why on the claim, and hand it to its provisioner (upstream's provisionClaim)."""
        name = _class(pvc)
        if not name:
            self.recorder.event(pvc, "Normal", "FailedBinding", MSG_NO_CLASS)
        elif cls is None:
            self.recorder.event(pvc, "Warning", "ProvisioningFailed",
                                f'storageclass.storage.k8s.io "{name}" not found')
        else:
            provisioner = str(cls.get("provisioner") or "")
            pvc = await self._set_provisioner(pvc, provisioner)
            self.recorder.event(pvc, "Normal", "ExternalProvisioning",
                                f"Waiting for a volume to be created either by the external provisioner "
                                f"'{provisioner}' or manually by the system administrator. If volume creation is "
                                f"delayed, please verify that the provisioner is running and correctly registered.")
        await self._claim_status(pvc, "Pending", None)

    async def _set_provisioner(self, pvc: Obj, provisioner: str) -> Obj:
        notes = pvc["metadata"].get("annotations") or {}
        if notes.get(STORAGE_PROVISIONER) == provisioner and notes.get(BETA_STORAGE_PROVISIONER) == provisioner:
            return pvc
        body = copy.deepcopy(pvc)
        body["metadata"].setdefault("annotations", {}).update(
            {STORAGE_PROVISIONER: provisioner, BETA_STORAGE_PROVISIONER: provisioner})
        return await self.client.update(PVCS, body)

    async def bind(self, pv: Obj, pvc: Obj) -> None:
        log.info("pvbinder: binding claim %s/%s to volume %s", pvc["metadata"].get("namespace"),
                 pvc["metadata"]["name"], pv["metadata"]["name"])
        body = copy.deepcopy(pv)
        if not claim_ref_matches(pv, pvc) or not body["spec"]["claimRef"].get("uid"):
            body["spec"]["claimRef"] = claim_ref(pvc)
            body["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
            body = await self.client.update(PVS, body)
        if (body.get("status") or {}).get("phase") != "Bound":
            body["status"] = {**(body.get("status") or {}), "phase": "Bound"}
            body = await self.client.update_status(PVS, body)
        claim = copy.deepcopy(pvc)
        notes = claim["metadata"].setdefault("annotations", {})
        if claim["spec"].get("volumeName") != pv["metadata"]["name"] or not notes.get(BIND_COMPLETED):
            if claim["spec"].get("volumeName") != pv["metadata"]["name"]:
                notes[BOUND_BY_CONTROLLER] = "yes"
            claim["spec"]["volumeName"] = pv["metadata"]["name"]
            notes[BIND_COMPLETED] = "yes"
            claim = await self.client.update(PVCS, claim)
        await self._claim_status(claim, "Bound", body)

    async def _claim_status(self, pvc: Obj, phase: str, pv: Obj | None) -> None:
        status = dict(pvc.get("status") or {})
        want: dict[str, Any] = {"phase": phase}
        if phase == "Bound" and pv is not None:
            want["accessModes"] = list((pv.get("spec") or {}).get("accessModes") or [])
            want["capacity"] = dict((pv.get("spec") or {}).get("capacity") or {})
        if all(status.get(k) == v for k, v in want.items()):
            return
        body = copy.deepcopy(pvc)
        status.update(want)
        body["status"] = status
        try:
            await self.client.update_status(PVCS, body)
        except ApiError as exc:
            if is_not_found(exc):
                return
            if is_conflict(exc):
                raise RuntimeError("claim changed under us; retrying") from exc
            raise

    # --- volumes --------------------------------------------------------------------------

    async def sync_volume(self, pv: Obj) -> None:
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref:
            await self._volume_phase(pv, "Available")
            return
        pvc = self.pvcs.lister.get(ref.get("name", ""), ref.get("namespace", ""))
        if pvc is None and ref.get("uid"):
            # The cache may lag a just-created claim: confirm before releasing.
            try:
                pvc = await self.client.get(PVCS, ref["name"], namespace=ref.get("namespace", ""))
            except ApiError as exc:
                if not is_not_found(exc):
                    raise
        if pvc is not None and (not ref.get("uid") or pvc["metadata"].get("uid") == ref["uid"]):
            bound = (pvc.get("spec") or {}).get("volumeName") == pv["metadata"]["name"]
            await self._volume_phase(pv, "Bound" if bound or ref.get("uid") else "Available")
            return
        if not ref.get("uid"):
            await self._volume_phase(pv, "Available")  # pre-bound to a claim that does not exist yet
            return
        policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        if (pv.get("status") or {}).get("phase") != "Released":
            await self._volume_phase(pv, "Released")
            return  # the status write brings the volume back for its reclaim policy
        if policy == "Delete" and not (pv["metadata"].get("annotations") or {}).get(PROVISIONED_BY):
            log.info("pvbinder: deleting released volume %s", pv["metadata"]["name"])
            try:
                await self.client.delete(PVS, pv["metadata"]["name"])
            except ApiError as exc:
                if not is_not_found(exc):
                    raise

    async def _volume_phase(self, pv: Obj, phase: str) -> None:
        if (pv.get("status") or {}).get("phase") == phase:
            return
        body = copy.deepcopy(pv)
        body["status"] = {**(body.get("status") or {}), "phase": phase}
        try:
            await self.client.update_status(PVS, body)
        except ApiError as exc:
            if is_not_found(exc):
                return
            if is_conflict(exc):
                raise RuntimeError("volume changed under us; retrying") from exc
            raise


def _pvc_key(pvc: Obj) -> str:
    return f"pvc/{pvc['metadata'].get('namespace', '')}/{pvc['metadata']['name']}"


def new(ctx: ControllerContext) -> PersistentVolumeBinder:
    return PersistentVolumeBinder(ctx)
