"""Image pulling by policy, back-off, pull secrets and upstream's events and messages."""

from __future__ import annotations

import base64
import json

import pytest

from pyk8s.kubelet.kuberuntime import imageref
from pyk8s.kubelet.kuberuntime.images import ImagePuller, PullFailed, go_duration_ms, pull_policy
from pyk8s.kubelet.kuberuntime.keyring import Keyring
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.testing.fake_clock import FakeClock
from pyk8s.testing.fake_runtime import FakeRuntime

from .conftest import BUSYBOX, ctr, make_pod

PATH = "spec.containers{app}"


def _events(events: list) -> list[tuple[str, str, str]]:
    return [(e.type, e.reason, e.message) for e in events]


@pytest.fixture
def puller(runtime: FakeRuntime, clock: FakeClock) -> ImagePuller:
    return ImagePuller(runtime, clock=clock)


async def test_if_not_present_uses_the_local_image(puller: ImagePuller, runtime: FakeRuntime) -> None:
    out = await puller.ensure_image(make_pod(), ctr("app"), [], PATH)
    assert out.image == BUSYBOX
    assert _events(out.events) == [("Normal", "Pulled", f'Container image "{BUSYBOX}" already present on machine')]
    assert not any(c[0] == "pull_image" for c in runtime.calls)


async def test_always_pulls_and_reports_size(puller: ImagePuller, runtime: FakeRuntime) -> None:
    out = await puller.ensure_image(make_pod(), ctr("app", image="nginx", imagePullPolicy="Always"), [], PATH)
    assert out.image == "nginx:latest" and ("pull_image", "nginx:latest") in runtime.calls
    assert _events(out.events) == [
        ("Normal", "Pulling", 'Pulling image "nginx"'),  # as the spec wrote it, as upstream
        ("Normal", "Pulled", 'Successfully pulled image "nginx" in 0s (0s including waiting). '
                             "Image size: 1024 bytes."),
    ]


async def test_never_with_absent_image(puller: ImagePuller) -> None:
    with pytest.raises(PullFailed) as err:
        await puller.ensure_image(make_pod(), ctr("app", image="absent:1", imagePullPolicy="Never"), [], PATH)
    msg = 'Container image "absent:1" is not present with pull policy of Never'
    assert (err.value.reason, err.value.message) == ("ErrImageNeverPull", msg)
    assert _events(err.value.events) == [("Warning", "ErrImageNeverPull", msg)]


async def test_invalid_image_name(puller: ImagePuller) -> None:
    with pytest.raises(PullFailed) as err:
        await puller.ensure_image(make_pod(), ctr("app", image="Busybox:UPPER"), [], PATH)
    assert err.value.reason == "InvalidImageName"
    assert err.value.message == ('Failed to apply default image tag "Busybox:UPPER": couldn\'t parse image name '
                                 '"Busybox:UPPER": invalid reference format: repository name (library/Busybox) '
                                 'must be lowercase')
    assert _events(err.value.events)[0][:2] == ("Warning", "InspectFailed")


@pytest.mark.parametrize(("image", "reason"), [
    ("127.0.0.1:5000/Team/app:1", "invalid reference format: repository name (Team/app) must be lowercase"),
    ("Registry.Example/team/App", "invalid reference format: repository name (team/App) must be lowercase"),
    ("busybox:1.36 ", "invalid reference format"),
    ("busy box", "invalid reference format"),
])
def test_invalid_references_read_as_upstream(image: str, reason: str) -> None:
    with pytest.raises(imageref.InvalidReference) as err:
        imageref.parse(image)
    assert str(err.value) == f'couldn\'t parse image name "{image}": {reason}'
    assert imageref.parse("Registry.Example/team/app:1").domain == "Registry.Example"


async def test_pull_failure_backs_off_10s_doubling(puller: ImagePuller, runtime: FakeRuntime,
                                                   clock: FakeClock) -> None:
    runtime.pull_errors["nope:1"] = ri.ImageNotFoundError("rpc error: code = NotFound desc = nope:1 not found")
    container = ctr("app", image="nope:1")

    async def attempt() -> PullFailed:
        with pytest.raises(PullFailed) as err:
            await puller.ensure_image(make_pod(), container, [], PATH)
        return err.value

    first = await attempt()
    assert (first.reason, first.message) == ("ErrImagePull", "rpc error: code = NotFound desc = nope:1 not found")
    assert _events(first.events)[-1] == ("Warning", "Failed", 'Failed to pull image "nope:1": rpc error: code = '
                                                              "NotFound desc = nope:1 not found")
    backing = await attempt()
    assert backing.reason == "ImagePullBackOff"
    assert backing.message == ('Back-off pulling image "nope:1": ErrImagePull: rpc error: code = NotFound desc = '
                               "nope:1 not found")
    assert _events(backing.events) == [("Normal", "BackOff", 'Back-off pulling image "nope:1"')]
    pulls = sum(1 for c in runtime.calls if c[0] == "pull_image")
    await clock.advance(10)
    assert (await attempt()).reason == "ErrImagePull"  # retried after 10 s ...
    await clock.advance(10)
    assert (await attempt()).reason == "ImagePullBackOff"  # ... then waits 20 s
    await clock.advance(10)
    assert (await attempt()).reason == "ErrImagePull"
    assert sum(1 for c in runtime.calls if c[0] == "pull_image") == pulls + 2


def _docker_secret(server: str, user: str, password: str, kind: str = "dockerconfigjson") -> dict:
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    entries = {server: {"auth": auth}}
    body = {"auths": entries} if kind == "dockerconfigjson" else entries
    key = ".dockerconfigjson" if kind == "dockerconfigjson" else ".dockercfg"
    return {"kind": "Secret", "type": f"kubernetes.io/{kind}", "metadata": {"name": "pull"},
            "data": {key: base64.b64encode(json.dumps(body).encode()).decode()}}


def test_keyring_matches_registry_and_path() -> None:
    ring = Keyring([_docker_secret("https://index.docker.io/v1/", "hub", "pw"),
                    _docker_secret("127.0.0.1:5000", "local", "pw2", kind="dockercfg"),
                    _docker_secret("registry.example/team", "team", "pw3")])
    assert [a.username for a in ring.lookup("busybox")] == ["hub"]
    assert [a.username for a in ring.lookup("docker.io/library/nginx:1")] == ["hub"]
    assert [(a.username, a.password) for a in ring.lookup("127.0.0.1:5000/app:1")] == [("local", "pw2")]
    assert [a.username for a in ring.lookup("registry.example/team/app")] == ["team"]
    assert ring.lookup("registry.example/other/app") == []


async def test_pull_tries_each_matching_credential(puller: ImagePuller, runtime: FakeRuntime) -> None:
    seen: list[str] = []
    original = runtime.pull_image

    async def pull(image: str, auth: ri.AuthConfig | None = None, sandbox_config: object = None) -> str:
        seen.append(auth.username if auth else "")
        if auth is None or auth.password != "good":
            raise ri.RegistryAuthError("unauthorized")
        return await original(image, auth)

    runtime.pull_image = pull  # type: ignore[method-assign]
    secrets = [_docker_secret("127.0.0.1:5000", "a", "bad"), _docker_secret("127.0.0.1:5000/app", "b", "good")]
    out = await puller.ensure_image(make_pod(), ctr("app", image="127.0.0.1:5000/app/web:1"), secrets, PATH)
    assert out.image == "127.0.0.1:5000/app/web:1" and seen == ["b"]


def test_reference_parsing_and_defaults() -> None:
    assert imageref.with_default_tag("busybox") == "busybox:latest"
    assert imageref.with_default_tag("localhost:5000/a/b") == "localhost:5000/a/b:latest"
    digest = "busybox@sha256:" + "a" * 64
    assert imageref.with_default_tag(digest) == digest
    assert imageref.parse("nginx").path == "library/nginx"
    with pytest.raises(imageref.InvalidReference, match="invalid reference format"):
        imageref.parse("bad image")
    assert pull_policy({"image": "nginx"}) == "Always" and pull_policy({"image": "nginx:1.25"}) == "IfNotPresent"


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (0.5237, "523ms"), (1.5, "1.5s"), (62.345, "1m2.345s"),
                                               (3600, "1h0m0s")])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration_ms(seconds) == text


def test_keyring_api_version_paths_mean_the_whole_registry() -> None:
    ring = Keyring([_docker_secret("http://reg.example:5000/v2/", "u", "p")])
    assert [(a.username, a.server_address) for a in ring.lookup("reg.example:5000/any/app:1")] == [("u", "")]


async def test_all_failed_credentials_are_aggregated(puller: ImagePuller, runtime: FakeRuntime) -> None:
    async def pull(image: str, auth: ri.AuthConfig | None = None, sandbox_config: object = None) -> str:
        raise ri.RegistryAuthError(f"denied for {auth.username if auth else ''}")

    runtime.pull_image = pull  # type: ignore[method-assign]
    secrets = [_docker_secret("127.0.0.1:5000", "a", "x"), _docker_secret("127.0.0.1:5000/app", "b", "y")]
    with pytest.raises(PullFailed) as err:
        await puller.ensure_image(make_pod(), ctr("app", image="127.0.0.1:5000/app/web:1"), secrets, PATH)
    assert err.value.message == "[denied for b, denied for a]"
