"""The local-path provisioner: node-local volumes for claims of ``rancher.io/local-path`` classes.

Claims (key ``pvc/<ns>/<name>``): an unbound claim whose class (beta
annotation first) has our provisioner, and, for ``WaitForFirstConsumer``,
the scheduler's ``volume.kubernetes.io/selected-node``, gets a PV named
``pvc-<claim uid>``: ``hostPath`` ``<nodePath>/pvc-<uid>_<ns>_<name>``
(``DirectoryOrCreate``), node affinity to that node's hostname, capacity =
the request, the class's reclaim policy, and a ``claimRef`` with the uid, so
the binder binds the pair.  ``nodePath`` is the class parameter of that name,
else the controller option ``local_path_dir`` (``/var/lib/pyk8s/storage``).
The kubelet backs such a volume with a filesystem of exactly that size (see
``pyk8s/kubelet/volumes/localpath.py``).  Events on the claim as the
external provisioner library writes them: ``Provisioning``,
``ProvisioningSucceeded``, ``ProvisioningFailed``.

Volumes (key ``pv/<name>``): a volume we provisioned that is ``Released``
under ``Delete`` has its data removed on its node by a helper pod
(``kube-system/helper-pod-delete-<pv>``, as k3s's provisioner does: a
busybox ``rm -rf`` of the directory and its image), then the helper pod and
the PV are deleted.  A failed helper is reported (``VolumeFailedDelete``) and
retried.  A node that no longer exists has no data to remove.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from pyk8s.api.core_v1.persistentvolume import storage_class_name
from pyk8s.api.storage_v1 import LOCAL_PATH_PROVISIONER
from pyk8s.client.errors import ApiError, is_already_exists, is_not_found
from pyk8s.client.rest import DynamicResource
from pyk8s.client.tools.controller import Controller
from pyk8s.client.tools.events import EventRecorder
from pyk8s.controllers import workload
from pyk8s.controllers.manager import ControllerContext
from pyk8s.controllers.pvbinder import CLASSES, NODES, PROVISIONED_BY, PVCS, PVS, SELECTED_NODE, claim_ref

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PODS = DynamicResource("", "v1", "pods", True, "Pod")
DEFAULT_DIR = "/var/lib/pyk8s/storage"
DEFAULT_HELPER_IMAGE = "busybox:1.28.4"
HELPER_NAMESPACE = "kube-system"
HOSTNAME_LABEL = "kubernetes.io/hostname"
NODE_ANNOTATION = "local.path.provisioner/selected-node"
SUPPORTED_MODES = ("ReadWriteOnce", "ReadWriteOncePod")
HELPER_POLL_SECONDS = 1.0


class ProvisioningError(Exception):
    pass


def volume_name(pvc: Obj) -> str:
    return f"pvc-{pvc['metadata']['uid']}"


def volume_dir(base: str, pvc: Obj) -> str:
    meta = pvc["metadata"]
    return f"{base.rstrip('/')}/{volume_name(pvc)}_{meta.get('namespace', '')}_{meta['name']}"


def node_affinity(hostname: str) -> Obj:
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": HOSTNAME_LABEL, "operator": "In", "values": [hostname]}]}]}}


def build_volume(pvc: Obj, cls: Obj, node: Obj, base: str) -> Obj:
    """The PV for a claim on a node; raises ProvisioningError for claims local-path cannot serve."""
    spec = pvc.get("spec") or {}
    modes = list(spec.get("accessModes") or [])
    if any(m not in SUPPORTED_MODES for m in modes):
        raise ProvisioningError(f"Only support {', '.join(SUPPORTED_MODES)} access mode")
    if (spec.get("volumeMode") or "Filesystem") != "Filesystem":
        raise ProvisioningError("Only support Filesystem volume mode")
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if not size:
        raise ProvisioningError("claim has no storage request")
    node_meta = node.get("metadata") or {}
    hostname = (node_meta.get("labels") or {}).get(HOSTNAME_LABEL) or node_meta.get("name", "")
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": volume_name(pvc),
                         "annotations": {PROVISIONED_BY: LOCAL_PATH_PROVISIONER,
                                         NODE_ANNOTATION: node_meta.get("name", "")}},
            "spec": {"capacity": {"storage": size}, "accessModes": modes or ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": cls.get("reclaimPolicy") or "Delete",
                     "storageClassName": cls["metadata"]["name"], "volumeMode": "Filesystem",
                     "claimRef": claim_ref(pvc),
                     "hostPath": {"path": volume_dir(base, pvc), "type": "DirectoryOrCreate"},
                     "nodeAffinity": node_affinity(hostname)}}


def helper_pod(pv: Obj, image: str) -> Obj:
    """The pod that removes a volume's data on its node (directory and filesystem image)."""
    path = str(((pv.get("spec") or {}).get("hostPath") or {}).get("path") or "")
    parent, _, leaf = path.rstrip("/").rpartition("/")
    node = (pv["metadata"].get("annotations") or {}).get(NODE_ANNOTATION, "")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"helper-pod-delete-{pv['metadata']['name']}", "namespace": HELPER_NAMESPACE,
                         "labels": {"app": "local-path-provisioner"},
                         # A one-shot: on simulated nodes (which run no command) it completes at once.
                         "annotations": {"sim.pyk8s.io/run-seconds": "0"}},
            "spec": {"nodeName": node, "restartPolicy": "Never", "automountServiceAccountToken": False,
                     "priorityClassName": "system-node-critical", "tolerations": [{"operator": "Exists"}],
                     "containers": [{"name": "helper-pod", "image": image, "imagePullPolicy": "IfNotPresent",
                                     "command": ["/bin/sh", "-c", 'rm -rf "/data/$VOL_DIR" "/data/$VOL_DIR.img"'],
                                     "env": [{"name": "VOL_DIR", "value": leaf}],
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                     "volumes": [{"name": "data", "hostPath": {"path": parent or "/",
                                                               "type": "DirectoryOrCreate"}}]}}


def is_ours(pv: Obj) -> bool:
    return (pv["metadata"].get("annotations") or {}).get(PROVISIONED_BY) == LOCAL_PATH_PROVISIONER


class LocalPathProvisioner:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.base_dir = str(ctx.option("local_path_dir", DEFAULT_DIR))
        self.image = str(ctx.option("local_path_helper_image", DEFAULT_HELPER_IMAGE))
        self.pvs = ctx.factory.informer(PVS)
        self.pvcs = ctx.factory.informer(PVCS)
        self.classes = ctx.factory.informer(CLASSES)
        self.nodes = ctx.factory.informer(NODES)
        self.controller = Controller("local-path-provisioner", self.sync, clock=ctx.clock,
                                     informers=[self.pvs, self.pvcs, self.classes, self.nodes])
        self.recorder = EventRecorder(ctx.client, component=f"{LOCAL_PATH_PROVISIONER}", clock=ctx.clock)
        q = self.controller.queue
        self.pvcs.add_event_handler(on_add=lambda o: q.add(_pvc_key(o)), on_update=lambda o, n: q.add(_pvc_key(n)))
        self.pvs.add_event_handler(on_add=lambda o: q.add(_pv_key(o)), on_update=lambda o, n: q.add(_pv_key(n)))
        # A class or node that shows up late lets waiting claims go ahead.
        for later in (self.classes, self.nodes):
            later.add_event_handler(on_add=lambda _: self._requeue_unbound())
        self.ready = self.controller.ready

    def _requeue_unbound(self) -> None:
        for pvc in self.pvcs.lister.list():
            if not (pvc.get("spec") or {}).get("volumeName"):
                self.controller.queue.add(_pvc_key(pvc))

    async def run(self) -> None:
        await workload.run_with_recorder(self.controller, self.recorder)

    async def sync(self, key: str) -> float | None:
        kind, _, rest = key.partition("/")
        if kind == "pv":
            pv = self.pvs.lister.get(rest)
            return await self.reclaim(pv) if pv is not None and is_ours(pv) else None
        ns, _, name = rest.partition("/")
        pvc = self.pvcs.lister.get(name, ns)
        if pvc is not None:
            await self.provision(pvc)
        return None

    # --- provisioning -------------------------------------------------------------------

    def _our_class(self, pvc: Obj) -> Obj | None:
        name = storage_class_name(pvc)
        cls = self.classes.lister.get(name) if name else None
        return cls if cls is not None and cls.get("provisioner") == LOCAL_PATH_PROVISIONER else None

    async def provision(self, pvc: Obj) -> None:
        meta = pvc["metadata"]
        if (pvc.get("spec") or {}).get("volumeName") or meta.get("deletionTimestamp"):
            return
        cls = self._our_class(pvc)
        if cls is None or self.pvs.lister.get(volume_name(pvc)) is not None:
            return
        selected = (meta.get("annotations") or {}).get(SELECTED_NODE)
        if not selected:
            if cls.get("volumeBindingMode") == "WaitForFirstConsumer":
                return
            self._failed(pvc, cls, "configuration error, no node was specified")
            return
        node = self.nodes.lister.get(selected)
        if node is None:
            self._failed(pvc, cls, f'node "{selected}" not found')
            return
        claim = f"{meta.get('namespace', '')}/{meta['name']}"
        self.recorder.event(pvc, "Normal", "Provisioning",
                            f'External provisioner is provisioning volume for claim "{claim}"')
        base = str((cls.get("parameters") or {}).get("nodePath") or self.base_dir)
        try:
            pv = build_volume(pvc, cls, node, base)
        except ProvisioningError as exc:
            self._failed(pvc, cls, str(exc))
            return
        try:
            await self.client.create(PVS, pv)
        except ApiError as exc:
            if is_already_exists(exc):
                return
            self._failed(pvc, cls, str(exc))
            raise
        log.info("local-path: provisioned %s for claim %s on node %s", pv["metadata"]["name"], claim, selected)
        self.recorder.event(pvc, "Normal", "ProvisioningSucceeded",
                            f"Successfully provisioned volume {pv['metadata']['name']}")

    def _failed(self, pvc: Obj, cls: Obj, reason: str) -> None:
        self.recorder.event(pvc, "Warning", "ProvisioningFailed",
                            f'failed to provision volume with StorageClass "{cls["metadata"]["name"]}": {reason}')

    # --- reclaiming ---------------------------------------------------------------------

    async def reclaim(self, pv: Obj) -> float | None:
        spec = pv.get("spec") or {}
        if (pv.get("status") or {}).get("phase") != "Released" or spec.get("persistentVolumeReclaimPolicy") != "Delete":
            return None
        if pv["metadata"].get("deletionTimestamp"):
            return None  # its data is gone already; pv-protection lets it go
        helper = helper_pod(pv, self.image)
        node = helper["spec"]["nodeName"]
        if node and self.nodes.lister.get(node) is not None:
            done = await self._run_helper(pv, helper)
            if not done:
                return HELPER_POLL_SECONDS
        log.info("local-path: deleting volume %s (data removed)", pv["metadata"]["name"])
        await self._delete(PVS, pv["metadata"]["name"], None)
        return None

    async def _run_helper(self, pv: Obj, helper: Obj) -> bool:
        """Whether the helper pod has removed the data (it is created, awaited, and deleted here)."""
        name = helper["metadata"]["name"]
        try:
            pod = await self.client.get(PODS, name, namespace=HELPER_NAMESPACE)
        except ApiError as exc:
            if not is_not_found(exc):
                raise
            await self.client.create(PODS, copy.deepcopy(helper), namespace=HELPER_NAMESPACE)
            return False
        phase = (pod.get("status") or {}).get("phase")
        if phase not in ("Succeeded", "Failed"):
            return False
        await self._delete(PODS, name, HELPER_NAMESPACE)
        if phase == "Failed":
            self.recorder.event(pv, "Warning", "VolumeFailedDelete",
                                f"failed to delete volume {pv['metadata']['name']}: helper pod {name} failed")
            raise RuntimeError(f"helper pod {name} failed; retrying")
        return True

    async def _delete(self, rt: DynamicResource, name: str, namespace: str | None) -> None:
        try:
            await self.client.delete(rt, name, namespace=namespace)
        except ApiError as exc:
            if not is_not_found(exc):
                raise


def _pvc_key(pvc: Obj) -> str:
    return f"pvc/{pvc['metadata'].get('namespace', '')}/{pvc['metadata']['name']}"


def _pv_key(pv: Obj) -> str:
    return f"pv/{pv['metadata']['name']}"


def new(ctx: ControllerContext) -> LocalPathProvisioner:
    return LocalPathProvisioner(ctx)
