"""The kubelet's certificates: its serving certificate from the cluster CA through a CSR (``serving``)."""
