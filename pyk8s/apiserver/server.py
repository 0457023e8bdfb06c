"""The API server's HTTP front: TLS, authentication, routing to the endpoints.

``prepare_credentials(config)`` makes (on first start) or loads (afterwards)
everything under ``DATA_DIR/pki``: the cluster CA, the serving certificate,
the admin client certificate, the admin bearer token and the key that signs
service-account tokens; it also (re)writes ``DATA_DIR/admin.kubeconfig``.

``APIServer`` is a component: ``await server.run()`` listens (HTTPS on the
secure port; plain HTTP on the insecure port when one is configured, for
local debugging) until cancelled, and sets ``server.started`` once the
sockets are bound.  Connections get Go's limits (``connections.py``: header
deadline, idle timeout, header size) and the secure port answers plain HTTP
as Go does (``listener.py``); requests in flight are bounded
(``filters/inflight.py``).  Serving readiness (``/readyz``) is the assembly's
business: it marks the ``Readiness`` checks as storage, bootstrap and
caches come up.

Routing is done by hand rather than with aiohttp's router: resource paths
have optional ``namespaces/{ns}`` and ``watch`` segments and groups added at
run time, which a parser states more plainly than a route table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from pyk8s.apiserver import audit, tls
from pyk8s.apiserver.aggregator.aggregator import Aggregator
from pyk8s.apiserver.apiextensions import types as _crd_types  # noqa: F401  (registers the CRD kind)
from pyk8s.apiserver.apiextensions.controller import CRDController
from pyk8s.apiserver.authentication.tokenfile import load_token_file
from pyk8s.apiserver.authorization import identities
from pyk8s.apiserver.authorization.union import UnionAuthorizer, build_authorizer
from pyk8s.apiserver.config import ServerConfig
from pyk8s.apiserver.connections import APIRunner
from pyk8s.apiserver.endpoints import discovery, negotiation, oidc, openapi, params, reviews, system
from pyk8s.apiserver.endpoints.paths import parse_resource, split_group_version
from pyk8s.apiserver.endpoints.resources import Registry, ResourceHandler
from pyk8s.apiserver.endpoints.responses import add_request_warnings, json_response
from pyk8s.apiserver.filters.authn import Authenticator, TokenSigner, UserInfo, anonymous_policy, authn_middleware
from pyk8s.apiserver.filters.authz import AUTHORIZER_KEY, authz_middleware
from pyk8s.apiserver.filters.deprecation import deprecation_middleware
from pyk8s.apiserver.filters.errors import status_middleware
from pyk8s.apiserver.filters.impersonation import impersonation_middleware
from pyk8s.apiserver.filters.inflight import inflight_middleware
from pyk8s.apiserver.filters.requestmetrics import request_metrics_middleware
from pyk8s.apiserver.flowcontrolstatus import run_flowschema_status
from pyk8s.apiserver.identitylease import run_identity_lease
from pyk8s.apiserver.kubeletclient import KubeletClient
from pyk8s.apiserver.listener import SecureSite
from pyk8s.apiserver.metrics import APIServerMetrics, InstrumentedStorage
from pyk8s.apiserver.registry import Registry as RegistryImpl
from pyk8s.machinery.errors import method_not_allowed, resource_not_found_for_path
from pyk8s.machinery.schema import REGISTRY, SchemaRegistry
from pyk8s.machinery.scheme import SCHEME, Scheme
from pyk8s.util import jwtsign, kubeconfig, pki

log = logging.getLogger("pyk8s.apiserver")

ADMIN_USER = UserInfo("kubernetes-admin", ("system:masters", "system:authenticated"))


@dataclass(frozen=True, slots=True)
class Credentials:
    pki: pki.ClusterPKI
    admin_token: str
    signer: TokenSigner


def _secret_file(path: os.PathLike[str] | str, make: Any) -> bytes:
    """Read a secret, creating it (0600) on first use."""
    try:
        with open(path, "rb") as f:
            data = f.read().strip()
        if data:
            return data
    except FileNotFoundError:
        pass
    data = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return data


def serving_names(config: ServerConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(DNS names, IPs) the serving certificate must cover."""
    dns = ["localhost", socket.gethostname(), "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc.cluster.local"]
    ips = ["127.0.0.1", config.kubernetes_service_ip]
    bind = config.bind_address
    if bind and bind not in ("0.0.0.0", "::"):
        try:
            import ipaddress

            ipaddress.ip_address(bind)
            ips.append(bind)
        except ValueError:
            dns.append(bind)
    return tuple(dict.fromkeys(dns)), tuple(dict.fromkeys(ips))


def prepare_credentials(config: ServerConfig) -> Credentials:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    dns, ips = serving_names(config)
    cluster_pki = pki.ensure_pki(config.pki_dir, dns_names=dns, ip_addresses=ips)
    token = _secret_file(config.pki_dir / "admin.token", lambda: secrets.token_hex(32).encode()).decode()
    # Signs ServiceAccount tokens: --service-account-signing-key-file, or pki/sa.key (RSA, 0600, made once).
    sa_key = (jwtsign.load(config.service_account_signing_key_file) if config.service_account_signing_key_file
              else jwtsign.load_or_create(config.service_account_key_path))
    doc = kubeconfig.build_kubeconfig(server=config.url, ca_pem=cluster_pki.ca.cert_pem, user="kubernetes-admin",
                                      client_cert_pem=cluster_pki.admin.cert_pem,
                                      client_key_pem=cluster_pki.admin.key_pem)
    kubeconfig.write_kubeconfig(config.kubeconfig_path, doc)
    # Each control-plane component's own identity (scheduler, controller manager and its controllers, kubelet).
    identities.ensure_component_kubeconfigs(config.data_dir, config.pki_dir, config.url, cluster_pki.ca)
    signer = TokenSigner(sa_key, config.service_account_issuer, api_audiences=config.api_audiences,
                         max_expiration_seconds=config.service_account_max_token_expiration,
                         extend_expiration=config.service_account_extend_token_expiration,
                         jwks_uri=config.service_account_jwks_uri,
                         extra_keys=[k for f in config.service_account_key_files for k in jwtsign.load_public_keys(f)])
    return Credentials(cluster_pki, token, signer)


def tls_context(creds: Credentials) -> ssl.SSLContext:
    """Client certificates are requested but verified by authentication (see ``apiserver.tls``)."""
    return tls.serving_context(str(creds.pki.serving.cert_path), str(creds.pki.serving.key_path),
                               creds.pki.ca.cert_pem)


class Router:
    """Dispatches one request to the endpoint that owns its path."""

    def __init__(self, *, scheme: Scheme, schemas: SchemaRegistry, resources: ResourceHandler,
                 authenticator: Authenticator, readiness: system.Readiness, server_address: str) -> None:
        self.scheme = scheme
        self.schemas = schemas
        self.resources = resources
        self.authenticator = authenticator
        self.readiness = readiness
        self.server_address = server_address

    aggregator: Aggregator | None = None  # asked first: aggregated group-versions and the merged /apis
    metrics: APIServerMetrics | None = None  # /metrics

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        if self.aggregator is not None and (answer := await self.aggregator.route(request)) is not None:
            return answer
        segments = request.path.strip("/").split("/")
        gv = split_group_version(segments) if segments[0] in ("api", "apis") else None
        if gv is not None and gv[2]:
            return await self.resource(request, *gv)
        if request.method not in ("GET", "HEAD"):
            raise method_not_allowed()
        return await self.fixed(request)

    async def serve_metrics(self) -> web.Response:
        assert self.metrics is not None
        await self.metrics.refresh_storage_objects()
        body, content_type = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def fixed(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path == "/version":
            return system.version(request)
        if path in (oidc.DISCOVERY_PATH, oidc.JWKS_PATH):
            return oidc.serve(request, path, self.resources.token_signer)
        kind, _, check = path[1:].partition("/")
        if kind in ("healthz", "livez", "readyz"):
            return system.health(request, kind, self.readiness, only=check)
        if path.startswith("/openapi/"):
            return openapi.serve(request, self.scheme, self.schemas)
        if path == "/metrics" and self.metrics is not None:
            return await self.serve_metrics()
        if path in ("/api", "/apis"):
            return self.discovery_root(request, legacy=path == "/api")
        segments = path.strip("/").split("/")
        doc: dict[str, Any] | None = None
        if segments[0] == "apis" and len(segments) == 2:
            doc = discovery.api_group_doc(self.scheme, segments[1])
        elif (gv := split_group_version(segments)) is not None and not gv[2]:
            doc = discovery.api_resource_list(self.scheme, gv[0], gv[1])
        if doc is None:
            raise resource_not_found_for_path(request.path)
        return json_response(doc)

    def discovery_root(self, request: web.Request, *, legacy: bool) -> web.Response:
        version = negotiation.discovery_version(request.headers.get("Accept", ""))
        if version:
            doc = discovery.aggregated(self.scheme, legacy=legacy, version=version)
            if self.aggregator is not None and not legacy:
                doc = self.aggregator.merge_aggregated(doc)
            return json_response(doc, content_type=discovery.aggregated_content_type(version))
        if legacy:
            return json_response(discovery.api_versions(self.server_address))
        doc = discovery.api_group_list(self.scheme)
        return json_response(self.aggregator.merge_group_list(doc) if self.aggregator is not None else doc)

    async def resource(self, request: web.Request, group: str, version: str, rest: list[str]) -> web.StreamResponse:
        target = reviews.review_target(group, rest)
        if target is not None and (rt := self.scheme.get(group, version, target[1])) is not None:
            return await reviews.handle(request, rt, target[0], self.authenticator, self.resources.read_object)
        rp = parse_resource(group, version, rest, request.path)
        if request.method in ("GET", "HEAD"):
            params.resource_version(request.query)  # a malformed one is a 400 on a get as on a list
        return await self.resources.handle(request, rp)


def build_app(*, config: ServerConfig, registry: Registry | None, authenticator: Authenticator,
              readiness: system.Readiness, token_signer: TokenSigner | None = None,
              scheme: Scheme | None = None, schemas: SchemaRegistry | None = None,
              anonymous_user: UserInfo | None = None, kubelets: KubeletClient | None = None,
              authorizer: UnionAuthorizer | None = None, aggregator: Aggregator | None = None,
              metrics: APIServerMetrics | None = None, auditor: audit.Auditor | None = None) -> web.Application:
    """The aiohttp application.  ``anonymous_user``: who credential-less requests run as (insecure port);
    ``authorizer``: None allows everything (``--authorization-mode=AlwaysAllow`` without the filter)."""
    scheme = scheme if scheme is not None else SCHEME
    reviews.ensure_review_types(scheme)
    if isinstance(authenticator, Authenticator):
        authenticator.use_registry(registry, scheme)  # token checks read pods, ServiceAccounts, Secrets from its caches
    resources = ResourceHandler(scheme, registry, max_body=config.max_request_body, token_signer=token_signer,
                                kubelets=kubelets)
    router = Router(scheme=scheme, schemas=schemas if schemas is not None else REGISTRY, resources=resources,
                    authenticator=authenticator, readiness=readiness,
                    server_address=f"{config.advertised_host}:{config.secure_port}")
    router.aggregator = aggregator
    router.metrics = metrics = metrics if metrics is not None else APIServerMetrics()
    metrics.count_objects_of(registry if isinstance(registry, RegistryImpl) else None)
    # Bodies are read and capped by the endpoints themselves (413 as a Status), so aiohttp's own cap is off.
    # Anonymous requests: the authorizer decides; without one, the interim policy (health and version only).
    anonymous_authorizer = anonymous_policy if authorizer is None else None
    authn = authn_middleware(authenticator, anonymous_user=anonymous_user, anonymous_authorizer=anonymous_authorizer)
    middlewares = [status_middleware, authn,
                   inflight_middleware(config.max_requests_inflight, config.max_mutating_requests_inflight)]
    if authorizer is not None:  # upstream's order: authentication, impersonation, in-flight limit, authorization
        middlewares.insert(2, impersonation_middleware(authorizer))
        middlewares.append(authz_middleware(authorizer))
    middlewares.insert(0, request_metrics_middleware(metrics))  # outermost: it sees the code the client gets
    middlewares.insert(1, deprecation_middleware)  # warns on errors too, so outside the Status conversion
    if auditor is not None:  # upstream's places: the audit ID before authentication, the event after it
        middlewares = auditor.install(middlewares, authn)
    app = web.Application(middlewares=middlewares, client_max_size=0)
    # Every response carries an Audit-Id, audited or not, as upstream's always-installed WithAuditInit.
    app.on_response_prepare.append(auditor.on_prepare if auditor is not None else audit.send_audit_id)
    app.on_response_prepare.append(add_request_warnings)  # a streamed CONNECT's admission warnings
    if authorizer is not None:
        app[AUTHORIZER_KEY] = authorizer
    app.router.add_route("*", "/{tail:.*}", router.__call__)
    return app


class APIServer:
    """The listening server as a component: ``run()`` until cancelled; ``started`` once bound."""

    def __init__(self, config: ServerConfig, *, registry: Registry | None, readiness: system.Readiness,
                 credentials: Credentials | None = None) -> None:
        self.config = config
        self.registry = registry
        self.readiness = readiness
        self.credentials = credentials or prepare_credentials(config)
        self.kubelets = KubeletClient(self.credentials.pki.kubelet_client, self.credentials.pki.ca.cert_pem)
        tokens = load_token_file(config.token_auth_file) if config.token_auth_file else {}
        tokens[self.credentials.admin_token] = ADMIN_USER
        self.authenticator = Authenticator(tokens=tokens, signer=self.credentials.signer,
                                           client_ca=self.credentials.pki.ca.cert_pem,
                                           anonymous=config.anonymous_auth)
        self.authorizer = build_authorizer(config.authorization_modes, registry)
        self.aggregator = Aggregator(registry, SCHEME, config.pki_dir, self.credentials.pki.ca.cert_pem) \
            if isinstance(registry, RegistryImpl) else None
        self.metrics = APIServerMetrics()
        self.auditor = audit.build(config)  # None unless --audit-policy-file and --audit-log-path are set
        if isinstance(registry, RegistryImpl):  # every storage call timed (etcd_request_duration_seconds)
            registry.storage = InstrumentedStorage(registry.storage, self.metrics)  # type: ignore[assignment]
        self.started = asyncio.Event()
        self.bound_ports: list[int] = []

    def app(self, *, anonymous_user: UserInfo | None = None) -> web.Application:
        return build_app(config=self.config, registry=self.registry, authenticator=self.authenticator,
                         readiness=self.readiness, token_signer=self.credentials.signer, kubelets=self.kubelets,
                         anonymous_user=anonymous_user, authorizer=self.authorizer, aggregator=self.aggregator,
                         metrics=self.metrics, auditor=self.auditor)

    async def run(self) -> None:
        runners: list[web.AppRunner] = []
        crds: asyncio.Task[None] | None = None
        aggregation: asyncio.Task[None] | None = None
        identity: asyncio.Task[None] | None = None
        apf: asyncio.Task[None] | None = None
        try:
            if isinstance(self.registry, RegistryImpl):  # CRDs are served by a loop inside the API server
                crds = asyncio.create_task(CRDController(self.registry).run(), name="crd-controller")
            runners.append(await self._serve(self.app(), self.config.secure_port, tls_context(self.credentials)))
            if self.config.insecure_port:
                # Plain HTTP is for local debugging only: loopback, and requests act as the admin.
                runners.append(await self._serve(self.app(anonymous_user=ADMIN_USER), self.config.insecure_port,
                                                 None, host="127.0.0.1"))
            self.started.set()
            if self.aggregator is not None:
                aggregation = asyncio.create_task(self.aggregator.run(), name="aggregator")
            if isinstance(self.registry, RegistryImpl):  # kube-system/apiserver-<hash>, renewed every 10 s
                identity = asyncio.create_task(run_identity_lease(self.registry), name="identity-lease")
                apf = asyncio.create_task(run_flowschema_status(self.registry), name="flowschema-status")
            await asyncio.Event().wait()
        finally:
            for task in (crds, aggregation, identity, apf):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            for runner in reversed(runners):
                await runner.cleanup()
            await self.kubelets.close()
            if self.auditor is not None:
                await asyncio.to_thread(self.auditor.close)  # the events still queued are written

    async def _serve(self, app: web.Application, port: int, ctx: ssl.SSLContext | None,
                     host: str | None = None) -> web.AppRunner:
        cfg = self.config
        runner = APIRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0,
                           keepalive_timeout=cfg.idle_timeout, read_header_timeout=cfg.read_header_timeout,
                           max_header_bytes=cfg.max_header_bytes)
        await runner.setup()
        bind = host or cfg.bind_address or "0.0.0.0"
        site: web.BaseSite
        if ctx is None:
            site = web.TCPSite(runner, bind, port, reuse_address=True, backlog=1024)
        else:
            site = SecureSite(runner, bind, port, ssl_context=ctx, backlog=1024,
                              handshake_timeout=cfg.read_header_timeout if cfg.read_header_timeout > 0 else 60.0)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.bound_ports.extend(addr[1] for addr in runner.addresses if isinstance(addr, tuple))
        scheme = "https" if ctx else "http"
        log.info("serving %s on %s:%s", scheme, host or cfg.bind_address, port)
        return runner
