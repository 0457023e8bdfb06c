"""The service proxy (kube-proxy): Services and EndpointSlices turned into packet rules on this node."""
