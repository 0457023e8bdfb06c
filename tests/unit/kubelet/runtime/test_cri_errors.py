"""CRI errors keep Go's gRPC status wording, which upstream's kubelet events quote verbatim."""

from __future__ import annotations

import grpc

from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri.client import _translate, classify_pull_error


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


def test_pull_errors_keep_the_runtime_text() -> None:
    text = ('rpc error: code = Unknown desc = failed to pull and unpack image "127.0.0.1:5000/a:1": failed to resolve '
            "reference: pulling from host 127.0.0.1:5000 failed with status code [manifests 1]: 401 Unauthorized")
    err = classify_pull_error("127.0.0.1:5000/a:1", text)
    assert isinstance(err, ri.RegistryAuthError) and str(err) == text
