"""Object-metadata chores shared by the stores: names, timestamps, keys,
continue tokens and the precondition/conflict messages upstream prints."""

from __future__ import annotations

import base64
import functools
import random
from datetime import UTC, datetime
from typing import Any

import orjson

from pyk8s.machinery.errors import StatusError, gone

# Upstream's generateName alphabet: no vowels (no words), no look-alikes.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
NAME_SUFFIX_LEN = 5
CONTINUE_EXPIRED = ("The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter, or use the continue value "
                    "from the response to continue the list from the current resourceVersion.")


#: ObjectMeta's maps and lists, all ``omitempty`` in Go: an empty one is never stored or served.
OMITEMPTY_META = ("labels", "annotations", "ownerReferences", "finalizers")


def drop_empty(meta: dict[str, Any]) -> None:
    """Remove empty ``labels``/``annotations``/``ownerReferences``/``finalizers``, as Go's encoding
    does (e.g. after a controller strips the last ownerReference with an update)."""
    for key in OMITEMPTY_META:
        if key in meta and not meta[key]:
            del meta[key]


def now_rfc3339(offset_seconds: float = 0) -> str:
    return _rfc3339(int(datetime.now(UTC).timestamp() + offset_seconds))


@functools.lru_cache(maxsize=8)
def _rfc3339(seconds: int) -> str:
    # Every write in one second stamps the same string: format it once (strftime is not cheap).
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(base: str) -> str:
    # Upstream truncates the base so the result fits a 63-char name.
    base = base[: 63 - NAME_SUFFIX_LEN]
    # math/rand upstream (utilrand.String): a name, not a secret; one call instead of a getrandom per character.
    return base + "".join(random.choices(NAME_ALPHABET, k=NAME_SUFFIX_LEN))  # noqa: S311


def encode_continue(start_after: str, revision: int) -> str:
    doc = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start_after})
    return base64.urlsafe_b64encode(doc).decode().rstrip("=")


def decode_continue(token: str) -> tuple[str, int]:
    try:
        padded = token + "=" * (-len(token) % 4)
        doc: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(padded))
        return str(doc["start"]), int(doc["rv"])
    except (ValueError, KeyError, TypeError):
        raise StatusError(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion "
                                             "(version meta.k8s.io/v1)") from None


def continue_expired() -> StatusError:
    return gone(CONTINUE_EXPIRED)


def parse_rv(value: str, what: str = "resourceVersion") -> int:
    try:
        rv = int(value)
        if rv < 0:
            raise ValueError
        return rv
    except ValueError:
        raise StatusError(400, "BadRequest", f"invalid {what}: {value}") from None
