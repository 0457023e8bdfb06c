"""Regenerate the etcd v3 protobuf/gRPC Python code from ``kv.proto`` and ``rpc.proto``.

Run ``.venv/bin/python -m pyk8s.storage.drivers.etcdpb.regenerate``.  The
output goes to ``generated/`` (committed, excluded from ruff).  grpc_tools
writes ``import kv_pb2`` / ``import rpc_pb2``; we rewrite them to relative
imports so the package needs no sys.path tricks.
"""

from __future__ import annotations

import pathlib
import re
import sys

from grpc_tools import protoc

HERE = pathlib.Path(__file__).resolve().parent
PROTOS = ("kv.proto", "rpc.proto")


def main() -> int:
    out = HERE / "generated"
    out.mkdir(exist_ok=True)
    (out / "__init__.py").write_text('"""Generated etcd v3 protobuf code (see ../regenerate.py)."""\n')
    args = ["grpc_tools.protoc", f"-I{HERE}", f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}"]
    rc = protoc.main(args + [str(HERE / p) for p in PROTOS])
    if rc != 0:
        return rc
    (out / "kv_pb2_grpc.py").unlink(missing_ok=True)  # kv.proto has no service: an empty module
    for path in out.glob("*_pb2*.py*"):
        text = re.sub(r"^import (\w+_pb2) as", r"from . import \1 as", path.read_text(), flags=re.M)
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
