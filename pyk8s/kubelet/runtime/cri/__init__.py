"""The CRI v1 gRPC client (containerd's CRI plugin) and its streaming helper."""
