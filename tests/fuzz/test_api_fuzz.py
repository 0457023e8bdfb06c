"""Property-based fuzz test of the API, built from the server's own OpenAPI v3 documents.

A fresh ``pyk8s server`` (loopback, its own SQLite data dir, no controllers)
serves ``/openapi/v3``; every operation of ``GROUP_VERSIONS`` in it is driven
by Hypothesis with requests drawn from its path, parameters and body schema
(``request_strategies``): schema-valid and invalid bodies as JSON, YAML,
protobuf-looking bytes and garbage; the four PATCH types (JSON patch with
every op, merge and strategic merge patches with their directives, apply
YAML); valid and invalid ``limit``, ``resourceVersion``,
``resourceVersionMatch``, ``timeoutSeconds``, ``labelSelector``,
``fieldSelector``, ``continue``, ``watch``, ``dryRun``, ``fieldValidation``,
``gracePeriodSeconds``, ``propagationPolicy``... and odd ``Accept`` and
``Content-Type`` headers.  Each request must get an answer that is

- not a 5xx (except upstream's 504 "Too large resource version" for a
  resourceVersion the server has not reached),
- not dropped (the connection closed or reset before a response, or no
  response within ``client.READ_TIMEOUT``),
- not accompanied by a traceback in the server log,
- a ``Status`` with the HTTP code when it is a 4xx (when JSON was asked for),

and the system namespaces (kube-system, kube-public, default), which the
fuzzer tries to delete, must survive: a 2xx to their DELETE fails the test,
as does their being gone or terminating at the end.  All failures are
collected, one per distinct signature, and reported together.

Reproducible: Hypothesis draws from a seed fixed per operation (``@seed``),
with no example database; responses still depend on the server's state.
``PYK8S_FUZZ_SEED=n`` shifts every seed, to explore other examples.
Bounded: ``PYK8S_FUZZ_EXAMPLES`` examples per operation (default 40) and
``PYK8S_FUZZ_SECONDS`` for the whole run (default 120; each operation gets
its share of what is left).  ``PYK8S_FUZZ_WORKERS`` processes (default 2)
take the operations in turn, in the same order, each with its own connection:
drawing examples costs the client about as much CPU as the server spends
answering them, so two workers keep both cores busy and the same examples
(seeded per operation) take about half the time.  ``PYK8S_FUZZ_WORKERS=1``
runs them one after another, as before (a traceback is then attributed to
the very request that caused it; with two workers it may be the other
worker's request in flight).  ``PYK8S_FUZZ_REPORT=path`` writes the findings
as JSON; ``PYK8S_FUZZ_VERBOSE=1`` prints progress per operation.

Not fuzzed, and why:

- operations whose ``x-kubernetes-action`` is in ``operations.EXCLUDED_ACTIONS``:
  ``connect`` (pods exec, attach, portforward and proxy, node and service
  proxy, with or without a ``{path}``: connection upgrades and relays to
  kubelets and endpoints, not plain request/response, which is all this
  fuzzer speaks) and the deprecated ``/watch/`` paths (``watch``,
  ``watchlist``; the server documents none); watches are fuzzed through
  ``?watch=true`` on every list operation, read for ``client.WATCH_READ``
  seconds and then hung up on.  Every other operation of the documents
  (any HTTP method) is fuzzed.
- Watch streams are not read to their end (a watch of a valid request lasts
  until its timeout): their status line, headers and first bytes are checked.
- Requests go out with the admin's credentials only: authentication and
  authorization are not what this test fuzzes.
- Nothing served is missing from the documents: ``test_openapi_covers_discovery``
  checks every resource and subresource discovery lists against them.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import time
import traceback
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings

from pyk8s.testing.cluster import ServerProcess

from .client import Client, Finding, LogWatcher
from .operations import EXCLUDED_ACTIONS, Operation, operations, split
from .request_strategies import FUZZ_NS, SYSTEM_NAMESPACES, Request, RequestStrategies, dump_json
from .seeds import seed as seed_object

pytestmark = pytest.mark.e2e

GROUP_VERSIONS = ("api/v1", "apis/apps/v1", "apis/batch/v1")
EXAMPLES = int(os.environ.get("PYK8S_FUZZ_EXAMPLES", "40"))
SECONDS = float(os.environ.get("PYK8S_FUZZ_SECONDS", "120"))
VERBOSE = bool(os.environ.get("PYK8S_FUZZ_VERBOSE"))
#: mixed into every operation's seed: another value explores other examples (CI keeps the default)
SEED = int(os.environ.get("PYK8S_FUZZ_SEED", "0"))
WORKERS = max(1, int(os.environ.get("PYK8S_FUZZ_WORKERS", "2")))
#: the order operations run in: creates first so later reads, patches and deletes meet objects
ACTION_ORDER = ("post", "put", "get", "list", "patch", "delete", "deletecollection")


def fetch_docs(srv: ServerProcess) -> dict[str, dict[str, Any]]:
    status, body = srv.request("GET", "/openapi/v3")
    assert status == 200, body
    index = json.loads(body)["paths"]
    docs = {}
    for gv in GROUP_VERSIONS:
        assert gv in index, f"/openapi/v3 does not list {gv}"
        status, body = srv.request("GET", index[gv]["serverRelativeURL"])
        assert status == 200, body
        docs[gv] = json.loads(body)
    return docs


def plant_seeds(client: Client, strategies: RequestStrategies, ops: list[Operation]) -> None:
    """Create one ``fz-seed`` object per creatable kind, so reads and updates by name find something."""
    for op in ops:
        if op.action != "post" or op.subresource or not op.body_types:
            continue
        api_version, kind = strategies.kind_of(strategies.body_ref(op))
        namespace = FUZZ_NS if op.namespaced else None
        obj = seed_object(kind, api_version, "fz-seed", namespace)
        if obj is None:
            continue
        path = op.path.replace("{namespace}", FUZZ_NS)
        client.send("(seed)", Request("POST", path, headers={"Content-Type": "application/json"}, body=dump_json(obj)))


class OutOfTime(Exception):
    """An operation's share of the time budget is spent: stop drawing for it."""


def fuzz_operation(client: Client, strategies: RequestStrategies, op: Operation, deadline: float) -> list[Finding]:
    found: list[Finding] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck), print_blob=False, verbosity=Verbosity.quiet)
    @seed(zlib.crc32(op.id.encode()) + SEED)
    @given(req=strategies.request(op))
    def run(req: Any) -> None:
        if time.monotonic() > deadline:
            raise OutOfTime
        found.extend(client.send(op.id, req))

    with contextlib.suppress(OutOfTime):
        run()
    if VERBOSE:
        print(f"{time.monotonic() - deadline:+6.1f}s {client.sent:6d} {len(found):3d} {op.id}", flush=True)
    return found


def system_namespace_findings(srv: ServerProcess) -> list[Finding]:
    out = []
    for ns in SYSTEM_NAMESPACES:
        status, body = srv.request("GET", f"/api/v1/namespaces/{ns}")
        meta = json.loads(body).get("metadata", {}) if status == 200 else {}
        if status != 200 or meta.get("deletionTimestamp"):
            out.append(Finding("system namespace", f"DELETE /api/v1/namespaces/{ns}", f"GET /api/v1/namespaces/{ns}",
                               f"{status}: the namespace is gone or terminating after the run {meta}",
                               f"sysns-end|{ns}"))
    return out


def report(findings: list[Finding]) -> str:
    unique: dict[str, tuple[int, Finding]] = {}
    for f in findings:
        count, first = unique.get(f.signature, (0, f))
        # Keep the shortest reproduction of each signature.
        unique[f.signature] = (count + 1, f if len(f.request) < len(first.request) else first)
    lines = [f"{len(unique)} distinct failures ({len(findings)} in all):"]
    for count, f in sorted(unique.values(), key=lambda cf: (cf[1].check, cf[1].op)):
        lines.append(f"\n({count}x) {f.render()}")
    return "\n".join(lines)


Plan = tuple[RequestStrategies, Operation]


def fuzz_plans(srv: ServerProcess, plans: list[Plan], log: LogWatcher, taken: Any, start: float,
               out: Any = None) -> tuple[list[Finding], int, dict[int, int]]:
    """Fuzz the plans not yet taken, in order, taking one at a time from ``taken`` (a shared counter); each
    operation's deadline is its share of the time left, counting the other workers' operations in flight."""
    client = Client(srv.client_config(), srv.log_path, log=log)
    found: list[Finding] = []
    try:
        while True:
            with taken.get_lock():
                i = taken.value
                taken.value += 1
            if i >= len(plans):
                break
            strategies, op = plans[i]
            share = (SECONDS - (time.monotonic() - start)) * WORKERS / (len(plans) - i)
            found += fuzz_operation(client, strategies, op, time.monotonic() + max(share, 0.0))
    finally:
        client.close()
    result = (found, client.sent, client.statuses)
    if out is not None:
        out.put(result)
    return result


def _worker(srv: ServerProcess, plans: list[Plan], log: LogWatcher, taken: Any, start: float, out: Any) -> None:
    try:
        fuzz_plans(srv, plans, log, taken, start, out)
    except BaseException:
        out.put(traceback.format_exc())


def run_workers(srv: ServerProcess, plans: list[Plan], log: LogWatcher) -> tuple[list[Finding], int, dict[int, int]]:
    """``WORKERS`` forked processes (Hypothesis and the recursion limit per process) fuzz ``plans`` together."""
    ctx = multiprocessing.get_context("fork")
    taken = ctx.Value("q", 0)
    shared_log = LogWatcher(srv.log_path, shared=ctx.Value("q", log.offset))
    start = time.monotonic()
    if WORKERS == 1:
        serial = fuzz_plans(srv, plans, shared_log, taken, start)
        log.offset = shared_log.offset
        return serial
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(srv, plans, shared_log, taken, start, out), daemon=True)
             for _ in range(WORKERS)]
    for proc in procs:
        proc.start()
    results = []
    try:
        for _ in procs:
            results.append(out.get(timeout=SECONDS + 240))  # generous: an operation ends at its first example
    finally:                                                # past its deadline (READ_TIMEOUT at most)
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
    log.offset = shared_log.shared.value
    errors = [r for r in results if isinstance(r, str)]
    assert not errors, "a fuzz worker failed:\n" + "\n".join(errors)
    found = [f for r in results for f in r[0]]
    statuses: dict[int, int] = {}
    for r in results:
        for code, n in r[2].items():
            statuses[code] = statuses.get(code, 0) + n
    return found, sum(r[1] for r in results), statuses


def test_openapi_covers_discovery(fuzz_server: ServerProcess) -> None:
    """Every resource and subresource discovery lists has a path in the OpenAPI document, so the fuzzer (which
    reads only the documents) misses nothing the server serves."""
    docs = fetch_docs(fuzz_server)
    missing = []
    for gv, doc in docs.items():
        status, body = fuzz_server.request("GET", "/" + gv)
        assert status == 200, body
        tails = {"/".join(part for part in path.split("/") if not part.startswith("{")) for path in doc["paths"]}
        for res in json.loads(body)["resources"]:
            plural, _, sub = res["name"].partition("/")
            want = f"{plural}/{sub}" if sub else plural
            if not any(t.endswith("/" + want) for t in tails):
                missing.append(f"{gv} {res['name']}")
    assert not missing, f"served but not in /openapi/v3: {missing}"


def test_api_fuzz(fuzz_server: ServerProcess) -> None:
    docs = fetch_docs(fuzz_server)
    client = Client(fuzz_server.client_config(), fuzz_server.log_path)
    findings: list[Finding] = []
    plans = []
    for gv, doc in docs.items():
        strategies = RequestStrategies(doc)
        fuzzed, excluded = split(operations(doc))
        assert fuzzed, f"no operations in the OpenAPI document of {gv}"
        assert {op.action for op in excluded} <= set(EXCLUDED_ACTIONS)
        plant_seeds(client, strategies, fuzzed)
        plans += [(strategies, op) for op in fuzzed]
    plans.sort(key=lambda p: ACTION_ORDER.index(p[1].action) if p[1].action in ACTION_ORDER else len(ACTION_ORDER))

    client.close()
    start = time.monotonic()
    found, sent, statuses = run_workers(fuzz_server, plans, client.log)
    findings += found
    elapsed = time.monotonic() - start
    findings += system_namespace_findings(fuzz_server)
    findings += [Finding("traceback", "(after the run)", "-", tb, f"tb|{tb[:160]}")
                 for tb in client.log.new_tracebacks()]
    print(f"\nfuzz: {len(plans)} operations, {WORKERS} workers, {client.sent + sent} requests in {elapsed:.1f}s, "
          f"statuses {statuses}")
    if os.environ.get("PYK8S_FUZZ_REPORT"):
        with open(os.environ["PYK8S_FUZZ_REPORT"], "w") as out:
            json.dump([f.__dict__ for f in findings], out, indent=1)
    assert not findings, report(findings)
