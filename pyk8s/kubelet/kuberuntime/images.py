"""Making sure a container's image is present (upstream ``images.imageManager``).

``ensure_image`` follows upstream step by step:

1. add ``:latest`` when there is no tag or digest; a bad reference is
   InvalidImageName (event InspectFailed: ``Failed to apply default image tag ...``);
2. ImageStatus; a runtime failure is ImageInspectError;
3. by policy: Never and IfNotPresent with the image present, or Never with it
   absent (ErrImageNeverPull, ``Container image "x" is not present with pull
   policy of Never``), decide without pulling (event Pulled ``Container image
   "x" already present on machine``);
4. while the (pod, image) key is in back-off: ImagePullBackOff, ``Back-off
   pulling image "x": ErrImagePull: <last error>`` (event BackOff);
5. event Pulling, pull with each matching credential from the pull secrets
   (anonymous when none match) until one succeeds; failure is ErrImagePull
   with the runtime's message (event Failed ``Failed to pull image "x": ...``)
   and starts or doubles the back-off (10 s doubling to 300 s);
6. event Pulled ``Successfully pulled image "x" in 1.2s (1.2s including
   waiting). Image size: N bytes.``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyk8s.kubelet import backoff as backoff_mod
from pyk8s.kubelet.kuberuntime import imageref
from pyk8s.kubelet.kuberuntime.keyring import Keyring
from pyk8s.kubelet.kuberuntime.results import Event, Reason, StepError, normal, warning
from pyk8s.kubelet.runtime import interface as ri
from pyk8s.util.clock import REAL_CLOCK, Clock

Obj = dict[str, Any]


def go_duration_ms(seconds: float) -> str:
    """Go's ``Duration.String`` after ``Truncate(time.Millisecond)``: 0s, 523ms, 1.5s, 1m2.345s."""
    ms = int(seconds * 1000)
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    sec_text = f"{secs}.{millis:03d}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{sec_text}"
    return f"{minutes}m{sec_text}" if minutes else sec_text


def pull_policy(container: Obj) -> str:
    policy = container.get("imagePullPolicy")
    if policy:
        return str(policy)
    try:
        ref = imageref.parse(container.get("image", ""))
    except imageref.InvalidReference:
        return "IfNotPresent"
    return "Always" if not ref.digest and ref.tag in ("", "latest") else "IfNotPresent"


@dataclass
class PullOutcome:
    image: str  # the reference handed to CreateContainer (with its default tag)
    events: list[Event] = field(default_factory=list)
    status: ri.Image | None = None  # the runtime's ImageStatus of it (its user): not asked for twice


class ImagePuller:
    def __init__(self, images: ri.ImageService, *, clock: Clock = REAL_CLOCK,
                 backoff: backoff_mod.Backoff | None = None) -> None:
        self.images = images
        self.clock = clock
        self.backoff = backoff or backoff_mod.Backoff()
        self._last_failure: dict[str, tuple[float, str]] = {}  # key -> (when, "ErrImagePull: msg")

    async def ensure_image(self, pod: Obj, container: Obj, pull_secrets: list[Obj], field_path: str,
                           sandbox_config: ri.PodSandboxConfig | None = None) -> PullOutcome:
        """The image to run, or StepError(reason, message); events go into the outcome or the error."""
        requested = container.get("image", "")
        events: list[Event] = []
        try:
            image = imageref.with_default_tag(requested)
        except imageref.InvalidReference as exc:
            msg = f'Failed to apply default image tag "{requested}": {exc}'
            raise _error(events, warning("InspectFailed", msg, field_path), Reason.INVALID_IMAGE_NAME, msg) from None
        try:
            present = await self.images.image_status(image)
        except ri.RuntimeServiceError as exc:
            msg = f'Failed to inspect image "{requested}": {exc}'
            raise _error(events, warning("InspectFailed", msg, field_path), Reason.IMAGE_INSPECT, msg) from None
        policy = pull_policy(container)
        if present is not None and policy != "Always":
            events.append(normal("Pulled", f'Container image "{requested}" already present on machine', field_path))
            return PullOutcome(image, events, present)
        if policy == "Never":
            msg = f'Container image "{requested}" is not present with pull policy of Never'
            raise _error(events, warning("ErrImageNeverPull", msg, field_path), Reason.IMAGE_NEVER_PULL, msg)
        status = await self._pull(pod, image, requested, pull_secrets, field_path, events, sandbox_config)
        return PullOutcome(image, events, status)

    def _now(self) -> float:
        return self.clock.monotonic()

    async def _pull(self, pod: Obj, image: str, requested: str, pull_secrets: list[Obj], field_path: str,
                    events: list[Event], sandbox_config: ri.PodSandboxConfig | None) -> ri.Image | None:
        # Events name the image as the container spec wrote it, as upstream's do; the pull uses the full name.
        key = f"{(pod.get('metadata') or {}).get('uid', '')}_{image}"
        last = self._last_failure.get(key)
        if last is not None and self.backoff.in_backoff_since(key, last[0], self._now()):
            msg = f'Back-off pulling image "{requested}"'
            events.append(normal("BackOff", msg, field_path))
            raise _with_events(StepError(Reason.IMAGE_PULL_BACK_OFF, f"{msg}: {last[1]}"), events)
        self._last_failure.pop(key, None)
        events.append(normal("Pulling", f'Pulling image "{requested}"', field_path))
        started = self._now()
        try:
            await self._pull_with_credentials(image, Keyring(pull_secrets), sandbox_config)
        except ri.RuntimeServiceError as exc:
            events.append(warning("Failed", f'Failed to pull image "{requested}": {exc}', field_path))
            now = self._now()
            self.backoff.next(key, now)
            self._last_failure[key] = (now, f"{Reason.IMAGE_PULL}: {exc}")
            raise _with_events(StepError(Reason.IMAGE_PULL, str(exc)), events) from None
        took = go_duration_ms(self._now() - started)
        status = await self.images.image_status(image)
        size = status.size if status is not None else 0
        events.append(normal("Pulled", f'Successfully pulled image "{requested}" in {took} ({took} including waiting). '
                                       f"Image size: {size} bytes.", field_path))
        self.backoff.gc(self._now())
        return status

    async def _pull_with_credentials(self, image: str, keyring: Keyring,
                                     sandbox_config: ri.PodSandboxConfig | None) -> str:
        creds: list[ri.AuthConfig | None] = list(keyring.lookup(image)) or [None]
        errors: list[ri.RuntimeServiceError] = []
        for auth in creds:
            try:
                return await self.images.pull_image(image, auth, sandbox_config)
            except ri.RuntimeServiceError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        # Upstream aggregates the attempts: "[first error, second error]".
        raise type(errors[-1])("[" + ", ".join(str(e) for e in errors) + "]")

    def forget_pod(self, uid: str) -> None:
        for key in [k for k in self._last_failure if k.startswith(f"{uid}_")]:
            del self._last_failure[key]
            self.backoff.forget(key)


class PullFailed(StepError):
    """A StepError that carries the events recorded on the way to it."""

    events: list[Event]


def _with_events(err: StepError, events: list[Event]) -> PullFailed:
    out = PullFailed(err.reason, err.message)
    out.events = list(events)
    return out


def _error(events: list[Event], event: Event, reason: str, message: str) -> PullFailed:
    events.append(event)
    return _with_events(StepError(reason, message), events)
