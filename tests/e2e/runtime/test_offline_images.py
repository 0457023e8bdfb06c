"""The offline images through real containerd: pulled by name from the local registry mirror, and behaving
like the images users pull (nginx with a shell serving its page, busybox resolving through the search list,
DNS tools).  DNS answers come from a test server on the pod's own loopback, so no query can leave the machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest

from pyk8s.kubelet.images import build, catalog
from pyk8s.kubelet.images.registry import ImageRegistry
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.kubelet.runtime.cri.client import CRIClient

from .conftest import IMAGE_CACHE, Node
from .pods import Pods

pytestmark = pytest.mark.containerd

SEARCH = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"]
RECORDS = {
    "nginx-service.default.svc.cluster.local": "127.0.0.1",
    "web-0.nginx.default.svc.cluster.local": "127.0.0.2",
    "kubernetes.default.svc.cluster.local": "10.96.0.1",
}


@pytest.fixture(scope="module")
def offline_registry(node: Node, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageRegistry]:
    """The registry component serving the offline images in the node's namespace, as containerd's mirror."""
    certs = node.manager.paths.certs_dir
    registry = ImageRegistry(tmp_path_factory.mktemp("offline-registry"), port=5055, netns=node.netns,
                             images_dir=IMAGE_CACHE, hosts_dir=certs)
    try:
        asyncio.run(registry.start())
        asyncio.run(registry.publish())
        yield registry
    finally:
        asyncio.run(registry.stop())
        subprocess.run(["rm", "-rf", str(certs)], check=True)
        certs.mkdir()
        asyncio.run(_remove_images(node.endpoint))


async def _remove_images(endpoint: str) -> None:
    offline = {ref for refs in catalog.IMAGES.values() for ref in refs}
    keep = {"docker.io/library/busybox:1.36", catalog.PAUSE_REF}  # the session imported these
    client = CRIClient(endpoint)
    try:
        for image in await client.list_images():
            for tag in image.repo_tags:
                if tag in offline and tag not in keep:
                    await client.remove_image(tag)
    finally:
        await client.close()


@pytest.fixture
async def pods(cri: CRIClient, node: Node) -> AsyncIterator[Pods]:
    p = Pods(cri, node.data_dir / "logs")
    try:
        yield p
    finally:
        await p.cleanup()


async def test_pull_by_name_through_the_mirror(
    cri: CRIClient, offline_registry: ImageRegistry, built_images: dict[str, build.BuiltImage]
) -> None:
    # `kubectl run nginx --image=nginx` pulls "nginx" (Always): docker.io/library/nginx:latest via the mirror.
    assert await cri.pull_image("nginx") == built_images["nginx"].image_id
    pulled = {
        "docker.io/library/nginx:1.15.4": "nginx", "docker.io/library/busybox:1.28.4": "busybox",
        "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3": "dnsutils",
        "registry.cn-hangzhou.aliyuncs.com/hujiaming/nginx:1.24.0": "nginx",
    }
    for ref, name in pulled.items():
        assert await cri.pull_image(ref) == built_images[name].image_id, ref
        status = await cri.image_status(ref)
        assert status is not None and ref in status.repo_tags
    # Only what the registry holds: the upstream host is never tried.
    with pytest.raises(ri.ImageNotFoundError):
        await cri.pull_image("registry.k8s.io/metrics-server/metrics-server:v0.7.1")
    # A second publish finds everything in place and copies nothing.
    assert await offline_registry.publish() == []


async def test_nginx_has_a_shell_and_serves_its_page(
    cri: CRIClient, pods: Pods, node: Node, offline_registry: ImageRegistry
) -> None:
    image = "docker.io/library/nginx:1.15.4"
    await cri.pull_image(image)
    sandbox = await pods.sandbox("nginx")
    web = await pods.container(sandbox, "nginx", [], image=image)  # the image's own CMD
    shell = await pods.container(sandbox, "shell", ["sh", "-c", "echo from-sh; exec sleep 1000"], image=image)

    page = await pods.exec_until(web, ["curl", "-s", "http://localhost/"])
    assert page.exit_code == 0 and b"<title>Welcome to nginx!</title>" in page.stdout
    listing = await cri.exec_sync(web, ["ls", "/usr/share/nginx/html", "/etc/nginx/conf.d"], 10)
    assert listing.exit_code == 0
    assert b"index.html" in listing.stdout and b"50x.html" in listing.stdout and b"default.conf" in listing.stdout
    bash = await cri.exec_sync(shell, ["bash", "-c", "echo ${BASH_VERSION%%.*} $(id -un) $(cat /etc/debian_version)"], 10)
    assert bash.exit_code == 0 and bash.stdout.decode().startswith("5 root 12."), bash
    links = await cri.exec_sync(web, ["readlink", "/var/log/nginx/access.log", "/var/log/nginx/error.log"], 10)
    assert links.stdout == b"/dev/stdout\n/dev/stderr\n"

    # From the node: the page on the pod IP, and nginx's access log line in the container's log.
    ip = (await cri.pod_sandbox_status(sandbox[0])).ip
    fetch = ["nsenter", f"--net={node.netns}", "--", "busybox", "timeout", "5", "busybox", "wget", "-qO-", f"http://{ip}/"]
    proc = await asyncio.create_subprocess_exec(*fetch, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0 and b"Welcome to nginx!" in out, err
    web_log = (await cri.container_status(web)).log_path
    for _ in range(50):
        if '"GET / HTTP/1.1" 200' in _read(web_log):
            break
        await asyncio.sleep(0.1)
    assert any(" stdout F " in line and '"GET / HTTP/1.1" 200' in line for line in _read(web_log).splitlines())
    assert " stdout F from-sh" in _read((await cri.container_status(shell)).log_path)


def _read(path: str) -> str:
    return pathlib.Path(path).read_text()


class DNSServer:
    """The test DNS server on 127.0.0.1:53 inside the network namespace of a running container's process."""

    def __init__(self, pid: int, log: pathlib.Path) -> None:
        cmd = ["nsenter", f"--net=/proc/{pid}/ns/net", "--", sys.executable, "-m", "pyk8s.testing.dnsserver",
               "--records", json.dumps(RECORDS), "--log", str(log)]
        self.log = log
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line != b"ready\n":
            self.stop()
            raise AssertionError(f"DNS server did not start: {line!r}")

    def questions(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


async def test_busybox_and_dns_tools_resolve_through_the_search_list(
    cri: CRIClient, pods: Pods, offline_registry: ImageRegistry, tmp_path: pathlib.Path
) -> None:
    busybox, nginx = "docker.io/library/busybox:1.28.4", "docker.io/library/nginx:latest"
    dnsutils = "registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3"
    for image in (busybox, nginx, dnsutils):
        await cri.pull_image(image)
    dns = ri.DNSConfig(servers=["127.0.0.1"], searches=SEARCH, options=["ndots:5"])
    sandbox = await pods.sandbox("dns", dns=dns)
    client = await pods.container(sandbox, "client", ["sleep", "1000"], image=busybox)
    web = await pods.container(sandbox, "web", [], image=nginx)
    tools = await pods.container(sandbox, "tools", [], image=dnsutils)  # its CMD sleeps
    stall = await pods.container(sandbox, "stall", ["sh", "-c", "sleep 1000 | nc -l -p 81"], image=busybox)
    await pods.exec_until(web, ["curl", "-s", "http://127.0.0.1/"])
    pid = (await cri.container_status(client, verbose=True)).pid
    server = DNSServer(pid, tmp_path / "questions.txt")
    try:
        # A dotted name gets the search list (busybox 1.35's own nslookup would ask only for "web-0.nginx.").
        look = await cri.exec_sync(client, ["nslookup", "web-0.nginx"], 10)
        assert look.exit_code == 0, look
        assert look.stdout.decode().splitlines() == [
            "Server:    127.0.0.1", "Address 1: 127.0.0.1 localhost", "",
            "Name:      web-0.nginx", "Address 1: 127.0.0.2 web-0.nginx.default.svc.cluster.local",
        ]
        assert server.questions()[0] == "web-0.nginx.default.svc.cluster.local. A"
        look = await cri.exec_sync(client, ["nslookup", "kubernetes.default"], 10)
        assert look.exit_code == 0 and b"Address 1: 10.96.0.1 kubernetes.default.svc.cluster.local" in look.stdout
        missing = await cri.exec_sync(client, ["nslookup", "nope.example"], 10)
        assert missing.exit_code == 1 and missing.stderr == b"nslookup: can't resolve 'nope.example'\n"
        asked = set(server.questions())
        assert {f"nope.example.{s}. A" for s in SEARCH} | {"nope.example. A"} <= asked

        # wget resolves through glibc too, and -T no longer segfaults.
        for cmd in (["wget", "-qO-", "http://nginx-service/"], ["wget", "-T", "5", "-qO-", "http://web-0.nginx/"],
                    ["wget", "--timeout=5", "-qO-", "http://web-0.nginx/"]):
            got = await cri.exec_sync(client, cmd, 15)
            assert got.exit_code == 0 and b"Welcome to nginx!" in got.stdout, (cmd, got)
        await pods.exec_until(stall, ["sh", "-c", "netstat -ltn | grep -q :81"])
        timed_out = await cri.exec_sync(client, ["wget", "-T", "1", "-qO-", "http://127.0.0.1:81/"], 15)
        assert (timed_out.exit_code, timed_out.stderr) == (1, b"wget: download timed out\n")

        # The DNS tools image: dig, host and nslookup from bind9, with the search list where they use it.
        dig = await cri.exec_sync(tools, ["dig", "+short", "+search", "web-0.nginx"], 10)
        assert dig.exit_code == 0 and dig.stdout == b"127.0.0.2\n", dig
        host = await cri.exec_sync(tools, ["host", "kubernetes.default"], 10)
        assert host.exit_code == 0 and b"kubernetes.default.svc.cluster.local has address 10.96.0.1" in host.stdout
        look = await cri.exec_sync(tools, ["nslookup", "nginx-service"], 10)
        assert look.exit_code == 0 and b"Address: 127.0.0.1" in look.stdout, look
        # Every question named a name the search list makes (or its reverse): nothing else was asked.
        for question in server.questions():
            name = question.split()[0]
            assert name.endswith((".cluster.local.", ".in-addr.arpa.")) or name == "nope.example.", question
    finally:
        server.stop()


async def test_perl_runs_the_pi_job_of_the_docs(cri: CRIClient, pods: Pods, offline_registry: ImageRegistry) -> None:
    image = "docker.io/library/perl:5.34.0"
    await cri.pull_image(image)
    sandbox = await pods.sandbox("pi")
    pi = await pods.container(sandbox, "pi", ["perl", "-Mbignum=bpi", "-wle", "print bpi(100)"], image=image)
    status = await pods.wait_state(pi, ri.ContainerState.EXITED, wait_s=60)
    assert status.exit_code == 0
    assert f" stdout F 3.{'14159265358979323846' + '2643383279502884197169399375105820974944592307816406286'}" in \
        _read(status.log_path)
    # perl 5.36's own Math::BigInt dies in bpi(2000), the docs' figure: the image carries the fixed one.
    shell = await pods.container(sandbox, "shell", ["sleep", "1000"], image=image)
    version = await pods.exec_until(shell, ["perl", "-MMath::BigInt", "-e", "print Math::BigInt->VERSION"])
    assert tuple(int(part) for part in version.stdout.decode().split(".")) >= (1, 999838), version


async def test_myapp_versions_share_the_nginx_layer_and_name_their_pod(
    cri: CRIClient, pods: Pods, offline_registry: ImageRegistry, built_images: dict[str, build.BuiltImage]
) -> None:
    layers = {name: _layers(built_images[name]) for name in ("nginx", "myapp-v1", "myapp-v2")}
    assert layers["myapp-v1"][0] == layers["myapp-v2"][0] == layers["nginx"][0]
    for version in ("v1", "v2"):
        image = f"ikubernetes/myapp:{version}"
        await cri.pull_image(image)
        sandbox = await pods.sandbox(f"myapp-{version}")
        web = await pods.container(sandbox, "myapp", [], image=image)
        page = await pods.exec_until(web, ["curl", "-s", "http://127.0.0.1/"])
        assert page.stdout == f'Hello MyApp | Version: {version} | <a href="hostname.html">Pod Name</a>\n'.encode()
        name = await cri.exec_sync(web, ["curl", "-s", "http://127.0.0.1/hostname.html"], 10)
        assert name.stdout == f"myapp-{version}\n".encode()


def _layers(image: build.BuiltImage) -> list[str]:
    blobs = image.layout / "blobs" / "sha256"
    manifest = json.loads((blobs / image.digest.split(":", 1)[1]).read_text())
    return [layer["digest"] for layer in manifest["layers"]]
