"""Settings of one API server instance (what ``pyk8s server`` flags fill in).

``ServerConfig`` holds only plain values; ``server.py`` turns them into
listeners, TLS contexts and credentials.  Paths derive from ``data_dir`` so a
restart with the same directory finds the same CA, tokens and database.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

#: Kubernetes' default request body limit (3 MiB).
MAX_REQUEST_BODY = 3 * 1024 * 1024
#: Go's http.Server settings in kube-apiserver: a request header must arrive within 32 s
#: (ReadHeaderTimeout, also the TLS handshake's bound) and an idle keep-alive connection
#: is closed after 90 s (IdleTimeout); a header may take 1 MiB (MaxHeaderBytes).
READ_HEADER_TIMEOUT = 32.0
IDLE_TIMEOUT = 90.0
MAX_HEADER_BYTES = 1 << 20


@dataclass(slots=True)
class ServerConfig:
    data_dir: Path
    bind_address: str = "127.0.0.1"
    secure_port: int = 6443
    insecure_port: int = 0  # 0 = no plain-HTTP listener
    service_cluster_ip_range: str = "10.96.0.0/12"
    max_request_body: int = MAX_REQUEST_BODY
    read_header_timeout: float = READ_HEADER_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    max_header_bytes: int = MAX_HEADER_BYTES
    # kube-apiserver's --max-requests-inflight / --max-mutating-requests-inflight (0 = unlimited).
    max_requests_inflight: int = 400
    max_mutating_requests_inflight: int = 200
    # kube-apiserver's --authorization-mode (see pyk8s/apiserver/authorization/union.py).
    authorization_modes: tuple[str, ...] = ("Node", "RBAC")
    # Authentication (kube-apiserver's flags of the same names; see pyk8s/apiserver/authentication/).
    anonymous_auth: bool = True
    token_auth_file: Path | None = None
    service_account_issuer: str = "https://kubernetes.default.svc.cluster.local"
    api_audiences: tuple[str, ...] = ()  # empty: the issuer
    service_account_max_token_expiration: int = 0  # seconds; 0: only validation's bound
    service_account_extend_token_expiration: bool = True
    service_account_jwks_uri: str = ""
    service_account_signing_key_file: Path | None = None  # None: DATA_DIR/pki/sa.key, made on first start
    service_account_key_files: tuple[Path, ...] = ()  # more public keys tokens may be verified with
    # Audit logging (kube-apiserver's --audit-*; pyk8s/apiserver/audit/): off unless both the first two are set.
    audit_policy_file: Path | None = None
    audit_log_path: str = ""  # "-": standard output
    audit_log_maxsize: int = 0  # megabytes before rotation (0: 100)
    audit_log_maxbackup: int = 0  # old files kept (0: all)
    audit_log_maxage: int = 0  # days old files are kept (0: forever)

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def service_account_key_path(self) -> Path:
        """The private key that signs ServiceAccount tokens (the API server's and the tokens controller's)."""
        return self.service_account_signing_key_file or self.pki_dir / "sa.key"

    @property
    def kubeconfig_path(self) -> Path:
        return self.data_dir / "admin.kubeconfig"

    @property
    def kubernetes_service_ip(self) -> str:
        """The first address of the service range: the ``kubernetes`` Service's ClusterIP."""
        net = ipaddress.ip_network(self.service_cluster_ip_range, strict=False)
        return str(net.network_address + 1)

    @property
    def advertised_host(self) -> str:
        """The host clients are told to use (a wildcard bind is reached through loopback)."""
        if self.bind_address in ("0.0.0.0", "", "::"):
            return "127.0.0.1"
        return self.bind_address

    @property
    def url(self) -> str:
        host = self.advertised_host
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.secure_port}"
