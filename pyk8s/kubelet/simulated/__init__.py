"""Simulated nodes (kwok-style): fake kubelets that register Nodes, keep their
Leases fresh and play the kubelet's part for pods bound to them.

One process can host thousands of nodes: everything is shared (one pod
informer indexed by ``spec.nodeName``, one work queue, two batched heartbeat
loops); no node owns a task.  ``SimulatedAgent`` in ``agent.py`` assembles
the pieces; ``pyk8s agent --simulate N`` runs it.
"""
