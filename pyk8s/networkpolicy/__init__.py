"""NetworkPolicy (networking.k8s.io/v1) enforced with nftables, one agent per node.

* ``model`` turns policies, pods and namespaces into what each local pod may
  send and receive (``PodRules``), following upstream's semantics;
* ``nftables`` renders that as one ``inet pyk8s-netpol`` table;
* ``agent`` watches the API and keeps the table current in the node's
  network namespace.
"""
