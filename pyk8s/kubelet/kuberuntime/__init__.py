"""The kubelet's runtime manager ("kuberuntime"): turns a bound Pod into CRI calls.

Entry point: ``manager.RuntimeManager`` (``sync_pod``, ``kill_pod``,
``get_pod_status``, ``remove_pod``).  The pieces, each a module:

* ``podactions`` — what a sync must do (pure: spec + runtime status -> actions);
* ``podstatus`` — the pod as the runtime reports it (sandboxes, container instances);
* ``sandbox``, ``dns``, ``hostsfile`` — the sandbox config, resolv.conf, /etc/hosts;
* ``containerconfig`` with ``environment``, ``expansion``, ``fieldpath``,
  ``resources``, ``security``, ``labels`` — one container's CRI config;
* ``images``, ``imageref``, ``keyring`` — imagePullPolicy, back-off, pull secrets;
* ``killing``, ``hooks`` — grace periods, preStop/postStart, sidecar stop order;
* ``results`` — per-step results with upstream's reasons, and events;
* ``sources`` — the seam to API objects (ConfigMaps, Secrets, Services, tokens);
* ``settings`` — the kubelet settings these read.

Volumes live in ``pyk8s.kubelet.volumes``; service env vars in ``pyk8s.kubelet.envvars``.
"""
