"""TLS for the secure port.

Client certificates are judged by authentication, not by the handshake, as
kube-apiserver does (Go's ``tls.RequestClientCert``): a certificate from
another CA, expired or not yet valid must still complete the handshake so
the client gets a 401 Status instead of a TLS alert.  Python's ``ssl`` has
no verify callback and aborts the handshake on any verification error with
``CERT_OPTIONAL``, so ``request_client_certificates`` installs one through
OpenSSL (``SSL_CTX_set_verify``) that accepts whatever the client presents;
``filters.authn`` then verifies the certificate against the cluster CA.
"""

from __future__ import annotations

import ctypes
import logging
import ssl

log = logging.getLogger("pyk8s.apiserver")

SSL_VERIFY_PEER = 0x01
_VerifyCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


@_VerifyCallback
def _accept_any(preverify_ok: int, store_ctx: int) -> int:
    return 1


def _libssl() -> ctypes.CDLL:
    import _ssl

    # The _ssl extension's own handle: dlsym finds the libssl it was linked against.
    lib = ctypes.CDLL(getattr(_ssl, "__file__", None))
    lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VerifyCallback]
    lib.SSL_CTX_set_verify.restype = None
    lib.SSL_CTX_get_verify_mode.argtypes = [ctypes.c_void_p]
    lib.SSL_CTX_get_verify_mode.restype = ctypes.c_int
    return lib


def _ssl_ctx_pointer(ctx: ssl.SSLContext) -> int:
    # CPython's PySSLContext starts with the SSL_CTX pointer right after the object header.
    return int(ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value or 0)


def request_client_certificates(ctx: ssl.SSLContext) -> bool:
    """Request a client certificate without failing the handshake on it; False if OpenSSL is out of reach.

    Call last: setting ``ctx.verify_mode`` afterwards drops the callback.
    """
    ctx.verify_mode = ssl.CERT_OPTIONAL
    try:
        lib = _libssl()
        ptr = _ssl_ctx_pointer(ctx)
        if not ptr or lib.SSL_CTX_get_verify_mode(ptr) != SSL_VERIFY_PEER:
            raise OSError("unexpected SSLContext layout")
        lib.SSL_CTX_set_verify(ptr, SSL_VERIFY_PEER, _accept_any)
    except (OSError, AttributeError) as exc:
        log.warning("client certificates that fail verification will fail the TLS handshake: %s", exc)
        return False
    return True


def serving_context(cert_path: str, key_path: str, client_ca_pem: bytes) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    # The CA is loaded so the CertificateRequest names it and clients pick the right certificate.
    ctx.load_verify_locations(cadata=client_ca_pem.decode())
    ctx.set_alpn_protocols(["http/1.1"])
    request_client_certificates(ctx)
    return ctx
