"""Pod networking on the node: the CNI configuration containerd's CRI plugin executes."""
