"""The kubelet's HTTPS API: ``app`` serves it, ``logs`` reads CRI logs, ``podlogs`` finds them."""
