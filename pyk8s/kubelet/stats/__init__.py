"""What the kubelet API serves at /stats/summary and /metrics/resource: node figures from the host, pods' from CRI."""
