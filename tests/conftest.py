"""Suite-wide fixtures.  Component fixtures live in each test folder's conftest."""

import os
import sys

# Tests import pyk8s from the work tree.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A `pyk8s server` a test starts must not make this machine a node: tests that want a kubelet run one
# inside a network namespace of their own (pyk8s.testing.kubelet).  ServerProcess sets this itself.
os.environ.setdefault("PYK8S_DISABLE", "kubelet,proxy,dns")
