"""Pod status as the kubelet reports it, for every kubelet (real or simulated).

Callers describe each container in API form (``containers``: the state
builders) and the package does the rest the way upstream's kubelet does:

* ``phase.pod_phase`` — Pending / Running / Succeeded / Failed from the
  container statuses and the restartPolicy (``getPhase``);
* ``conditions.kubelet_conditions`` — PodReadyToStartContainers,
  Initialized, Ready (with readiness gates), ContainersReady, PodScheduled
  (``status/generate.go``);
* ``podstatus.generate`` — the whole ``status`` from the above;
* ``manager.StatusManager`` — merges a generated status into the pod's
  (conditions owned by others kept, transition times moved only on a flip,
  a terminal phase never left) and writes ``pods/status`` only when it
  changed; it also confirms a terminated pod's deletion.

Everything but the manager is pure: dicts in, dicts out, no clock reads.
"""
