"""CRI errors keep Go's gRPC status wording, which upstream's kubelet events quote verbatim."""

from __future__ import annotations

import grpc

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri.client import _translate


def _rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


def test_runtime_errors_read_as_go_grpc_status() -> None:
    err = _translate(_rpc_error(grpc.StatusCode.UNKNOWN, 'failed to get sandbox runtime: no runtime for "x" is configured'))
    assert type(err) is ri.RuntimeServiceError
    assert str(err) == 'rpc error: code = Unknown desc = failed to get sandbox runtime: no runtime for "x" is configured'
    assert str(_translate(_rpc_error(grpc.StatusCode.FAILED_PRECONDITION, "busy"))) == \
        "rpc error: code = FailedPrecondition desc = busy"
    assert str(_translate(_rpc_error(grpc.StatusCode.CANCELLED, "gone"))) == "rpc error: code = Canceled desc = gone"
    assert isinstance(_translate(_rpc_error(grpc.StatusCode.NOT_FOUND, "no such container")), ri.NotFoundError)
