"""Admission webhook cost: ConfigMap creates through the registry with one mutating and one validating
webhook (TLS, JSONPatch answer, warnings), against the same creates with no webhook, in the same run
(issue 12 section 6).

The webhook is ``pyk8s.testing.webhookserver`` in its own process on 127.0.0.1 (so its CPU is not the API
server's event loop, though both share the machine's cores); storage is the memory driver, so the figures
are the API server's admission path without HTTP in front or disk behind.

    .venv/bin/python benchmarks/webhook_bench.py             # 1,000 creates per variant
    .venv/bin/python benchmarks/webhook_bench.py --creates 300

Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyk8s.api  # noqa: F401 - fills SCHEME
from pyk8s.apiserver.bootstrap import bootstrap
from pyk8s.apiserver.registry import Registry, build_registry
from pyk8s.apiserver.registry.rest import WriteOptions
from pyk8s.machinery.scheme import SCHEME
from pyk8s.storage import open_storage

GROUP = "admissionregistration.k8s.io"


def _hook(name: str, url: str, ca: str) -> dict:
    return {"name": name, "clientConfig": {"url": url, "caBundle": ca}, "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                       "resources": ["configmaps"]}]}


async def configure(registry: Registry, port: int, ca: str) -> None:
    for kind, plural, path in (("MutatingWebhookConfiguration", "mutatingwebhookconfigurations", "/mutate"),
                               ("ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "/validate")):
        store = registry.store(GROUP, plural)
        assert store is not None
        await store.create("", {"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": {"name": "bench"},
                                "webhooks": [_hook(f"{path[1:]}.bench.test", f"https://127.0.0.1:{port}{path}", ca)]},
                           WriteOptions())


async def run(creates: int, webhook: tuple[int, str] | None) -> list[float]:
    storage = open_storage("memory://")
    await storage.start()
    registry = build_registry(SCHEME, storage)
    await bootstrap(registry, api_address="127.0.0.1", api_port=6443)
    if webhook is not None:
        await configure(registry, *webhook)
    store = registry.store("", "configmaps")
    assert store is not None
    times: list[float] = []
    try:
        for i in range(creates + 20):
            body = {"metadata": {"name": f"cm{i}"}, "data": {"a": "b"}}
            start = time.perf_counter()
            await store.create("default", body, WriteOptions())
            if i >= 20:  # the first creates warm the caches and the TLS connection
                times.append(time.perf_counter() - start)
    finally:
        for name in ("MutatingAdmissionWebhook", "ValidatingAdmissionWebhook"):
            plugin = registry.admission.plugin(name)
            if plugin is not None:
                await plugin.client.close()  # type: ignore[attr-defined]
        await registry.close()
        await storage.close()
    return times


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.fmean(times) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def start_webhook(directory: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    proc = subprocess.Popen([sys.executable, "-m", "pyk8s.testing.webhookserver", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not (directory / "port").exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("the webhook process did not start")
        time.sleep(0.05)
    return proc, int((directory / "port").read_text()), base64.b64encode((directory / "ca.crt").read_bytes()).decode()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pyk8s-webhook-bench-") as d:
        proc, port, ca = start_webhook(Path(d))
        try:
            bare = summary(await run(args.creates, None))
            hooked = summary(await run(args.creates, (port, ca)))
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"creates per variant: {args.creates}")
    print(f"no webhook:                  mean {bare[0]:.3f} ms, p99 {bare[1]:.3f} ms per create")
    print(f"1 mutating + 1 validating:   mean {hooked[0]:.3f} ms, p99 {hooked[1]:.3f} ms per create")
    print(f"ratio webhooks/none: mean {hooked[0] / bare[0]:.2f}x, p99 {hooked[1] / bare[1]:.2f}x; "
          f"added p99 {hooked[1] - bare[1]:.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
