"""The node's container runtimes behind one CRI-shaped seam (see ``interface``).

* ``interface`` — RuntimeService / ImageService Protocols, dataclasses, errors;
* ``cri.client.CRIClient`` — real CRI v1 gRPC (containerd, or any CRI socket);
* ``containerd.ManagedContainerd`` — pyk8s's own containerd instance;
* ``process.ProcessRuntime`` — host processes, no isolation (fallback);
* ``cri.server.serve`` — any of ours exposed over CRI gRPC;
* ``cri.streaming`` — the exec/attach/port-forward streaming client.
"""
