"""The kubelet's eviction manager: pods evicted for what they use on the node (``localstorage``)."""
