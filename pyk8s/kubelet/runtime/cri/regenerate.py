"""Regenerate the CRI protobuf/gRPC Python code from ``api.proto``.

Run ``.venv/bin/python -m pyk8s.kubelet.runtime.cri.regenerate``.  The output
goes to ``generated/`` (committed, excluded from ruff).  grpc_tools writes
``import api_pb2`` in the service module; we rewrite it to a relative import so
the package needs no sys.path tricks.
"""

from __future__ import annotations

import pathlib
import sys

from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent


def main() -> int:
    out = HERE / "generated"
    out.mkdir(exist_ok=True)
    (out / "__init__.py").write_text('"""Generated CRI v1 protobuf code (see ../regenerate.py)."""\n')
    rc = protoc.main(
        ["grpc_tools.protoc", f"-I{HERE}", f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}", str(HERE / "api.proto")]
    )
    if rc != 0:
        return rc
    grpc_mod = out / "api_pb2_grpc.py"
    grpc_mod.write_text(grpc_mod.read_text().replace("import api_pb2 as api__pb2", "from . import api_pb2 as api__pb2"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
