from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

from pyk8s.kubelet.images import debian

DEPENDS = """\
nginx
  Depends: libc6
  Depends: nginx-common
  Depends: iproute2
nginx-common
 |Depends: debconf
  Depends: <debconf-2.0>
    cdebconf
    debconf
  Depends: lsb-base
base-files
  PreDepends: <awk>
    original-awk
    gawk
    mawk
mawk
  Depends: libc6
libc6
  Depends: libgcc-s1
libgcc-s1
  PreDepends: libc6
iproute2
  Depends: libbpf1
"""


def test_parse_depends_groups_alternatives_and_providers() -> None:
    parsed = debian.parse_depends(DEPENDS)
    assert parsed["nginx-common"] == [["debconf", "<debconf-2.0>", "cdebconf", "debconf"], ["lsb-base"]]
    assert parsed["base-files"] == [["<awk>", "original-awk", "gawk", "mawk"]]
    assert parsed["libgcc-s1"] == [["libc6"]]


def test_closure_skips_script_only_and_excluded_packages_and_prefers_wanted_alternatives() -> None:
    parsed = debian.parse_depends(DEPENDS)
    names = debian.closure(parsed, ["nginx", "base-files", "mawk"], debian.SCRIPT_ONLY | {"iproute2"})
    # debconf (either alternative) and lsb-base only serve maintainer scripts; iproute2 was excluded;
    # awk is satisfied by mawk, which is wanted anyway, not by the first provider listed.
    assert names == ["base-files", "libc6", "libgcc-s1", "mawk", "nginx", "nginx-common"]
    with pytest.raises(debian.AptError, match="unknown packages"):
        debian.closure(parsed, ["no-such-package"], debian.SCRIPT_ONLY)


def test_package_version_from_pool_file_name() -> None:
    package = debian.Package("busybox", "busybox_1%3a1.35.0-4+deb12u1+b1_amd64.deb", "00")
    assert package.version == "1:1.35.0-4+deb12u1+b1"
    assert str(package) == "busybox 1:1.35.0-4+deb12u1+b1"


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_entries_lay_out_merged_usr_without_docs(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "pkg"
    for d in ("DEBIAN", "bin", "lib/x86_64-linux-gnu", "usr/share/doc/tiny", "etc"):
        (root / d).mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: tiny\nVersion: 1.0\nArchitecture: amd64\nMaintainer: t <t@example.com>\nDescription: t\n"
    )
    (root / "bin" / "dash").write_bytes(b"\x7fELF-dash")
    (root / "bin" / "sh").symlink_to("dash")
    (root / "bin" / "up").symlink_to("../usr/share/tiny-data")  # relative, leaves /bin
    (root / "lib" / "x86_64-linux-gnu" / "libtiny.so.1").write_bytes(b"lib")
    (root / "usr" / "share" / "doc" / "tiny" / "copyright").write_text("c")
    (root / "etc" / "tiny.conf").write_text("conf")
    (root / "etc" / "tiny-copy.conf").hardlink_to(root / "etc" / "tiny.conf")
    deb = tmp_path / "tiny.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)], check=True,
                   capture_output=True)

    # dpkg-deb stores tiny-copy.conf (sorted first) as the file and tiny.conf as a link to it.
    files = debian.entries([deb], drop=("etc/tiny-copy.conf",))
    assert files["usr/bin/dash"].data == b"\x7fELF-dash"
    assert files["usr/bin/sh"].kind == "symlink" and files["usr/bin/sh"].target == "dash"
    assert files["usr/bin/up"].target == "../share/tiny-data"
    assert files["usr/lib/x86_64-linux-gnu/libtiny.so.1"].data == b"lib"
    assert (files["bin"].kind, files["bin"].target) == ("symlink", "usr/bin")
    assert (files["lib64"].kind, files["lib64"].target) == ("symlink", "usr/lib64")
    assert not any(path.startswith(("usr/share/doc", "DEBIAN")) for path in files)
    # A hard link becomes a copy, so it survives its other name being dropped.
    assert "etc/tiny-copy.conf" not in files and files["etc/tiny.conf"].data == b"conf"
    assert files["usr"].kind == "dir" and files["usr/lib"].kind == "dir"
