from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

from pyk8s.kubelet.images import build, catalog, debian, recipes, tools


def test_pause_builds_once_then_is_reused(tmp_path: pathlib.Path) -> None:
    first = build.build(tmp_path, ["pause"])["pause"]
    assert first.rebuilt and first.archive.exists()
    assert first.refs == catalog.IMAGES["pause"]
    assert first.source.startswith("pyk8s pause")
    stamp = first.archive.stat().st_mtime_ns
    again = build.build(tmp_path, ["pause"])["pause"]
    assert not again.rebuilt and again.archive.stat().st_mtime_ns == stamp
    forced = build.build(tmp_path, ["pause"], force=True)["pause"]
    assert forced.rebuilt and forced.digest == first.digest  # deterministic: same inputs, same digest


def test_key_follows_the_package_files() -> None:
    recipe = recipes.RECIPES["busybox"]
    old = [debian.Package("busybox", "busybox_1%3a1.35.0-4_amd64.deb", "aa")]
    new = [debian.Package("busybox", "busybox_1%3a1.35.0-5_amd64.deb", "bb")]
    assert build._key(recipe, old) == build._key(recipe, list(old))
    assert build._key(recipe, old) != build._key(recipe, new)
    assert build._key(recipe, old) != build._key(recipes.RECIPES["nginx"], old)


def test_unknown_image_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="unknown image .metrics-server."):
        build.build(tmp_path, ["metrics-server"])


FAKE_BUSYBOX = """#!/bin/sh
case "$1" in
    timeout) echo "limit=$2" >> "$LOG"; shift 2; exec "$@" ;;
    wget) shift; echo "wget $*" >> "$LOG"; [ -z "$HANG" ] || kill -TERM $$; exit "${RC:-0}" ;;
esac
"""


def _wget(tmp_path: pathlib.Path, *args: str, **env: str) -> tuple[int, str, list[str]]:
    fake = tmp_path / "busybox"
    fake.write_text(FAKE_BUSYBOX)
    fake.chmod(0o755)
    script = tmp_path / "wget"
    script.write_text(tools.WGET_SH.replace("/bin/busybox", str(fake)))
    log = tmp_path / "log"
    log.unlink(missing_ok=True)
    # The images' /bin/sh is busybox ash, whose job reports the wrapper must keep quiet.
    proc = subprocess.run(["busybox", "sh", str(script), *args], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "LOG": str(log), **env})
    return proc.returncode, proc.stderr, log.read_text().splitlines()


@pytest.mark.skipif(shutil.which("busybox") is None, reason="needs busybox")
def test_wget_wrapper_moves_the_timeout_out_of_busybox_wget(tmp_path: pathlib.Path) -> None:
    assert _wget(tmp_path, "-qO-", "http://web/") == (0, "", ["wget -qO- http://web/"])
    for form in (["-T", "2"], ["-T2"], ["--timeout=2"], ["--timeout", "2"]):
        assert _wget(tmp_path, "--spider", *form, "http://web/") == (0, "", ["limit=2", "wget --spider http://web/"])
    assert _wget(tmp_path, "-T", "1", "http://web/", RC="1")[0] == 1
    # Killed by the timeout: wget's own message and status, and no "Terminated" from the shell.
    code, err, _ = _wget(tmp_path, "-T", "1", "http://web/", HANG="1")
    assert (code, err) == (1, "wget: download timed out\n")


def test_c_tools_compile(tmp_path: pathlib.Path) -> None:
    if not tools.gcc_available():
        pytest.skip("gcc is not installed")
    assert tools.compile_c(tools.NSLOOKUP_C, tmp_path / "nslookup").startswith(b"\x7fELF")
    assert tools.compile_c(tools.PAUSE_C, tmp_path / "pause", static=True).startswith(b"\x7fELF")
