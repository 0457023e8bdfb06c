"""pyk8s: Kubernetes, implemented in Python."""

__version__ = "0.1.0"
# The Kubernetes release whose API and behaviour we follow.
KUBERNETES_VERSION = "v1.32.0"
