"""What a ``pyk8s kubelet`` process loads: only the node's own stack.

Every module imported stays in the kubelet's RSS for its whole life (the issue's
budget is 80 MB with 110 pods), so the command must not pull in the API server,
the controllers or the scheduler through the CLI, nor CEL (celpy with lark,
pendulum and re2) or cryptography through ``pyk8s.api`` (the serving
certificate is issued by a child process).
"""

from __future__ import annotations

import subprocess
import sys

NOT_FOR_A_KUBELET = ("pyk8s.apiserver", "pyk8s.controllers", "pyk8s.scheduler", "celpy", "lark", "pendulum", "re2",
                     "cryptography", "pyk8s.util.pki")

PROBE = """
import sys
from pyk8s.cli.main import build_parser
args = build_parser("kubelet").parse_args(["kubelet", "--kubeconfig", "k"])
import pyk8s.daemons.kubelet  # what the command imports when it runs
import pyk8s.kubelet.server.app
print(args.command)
print("\\n".join(sorted(sys.modules)))
"""


def test_the_kubelet_command_loads_no_control_plane_no_cel_and_no_cryptography() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    command, *modules = out.stdout.split()
    assert command == "kubelet"
    loaded = [m for m in modules if m.split(".")[0] in NOT_FOR_A_KUBELET
              or any(m == p or m.startswith(p + ".") for p in NOT_FOR_A_KUBELET)]
    assert loaded == []
