"""Secrets at rest: ciphertext with upstream's prefixes in the SQLite file and in etcd, plaintext through
kubectl, owner-only files, key rotation with re-encryption by ``kubectl replace``, and a wrong key's 500."""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyk8s.testing.cluster import ServerProcess

pytestmark = [pytest.mark.e2e]

KEY1 = base64.b64encode(b"k" * 32).decode()
KEY2 = base64.b64encode(b"s" * 32).decode()
SECRET_KEY = "/registry/core/secrets/default/{}"


def _config(*providers: str) -> str:
    body = "\n".join(providers)
    return ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n"
            f"- resources: [secrets]\n  providers:\n{body}\n")


AESCBC_KEY1 = f"  - aescbc:\n      keys:\n      - name: key1\n        secret: {KEY1}"
SECRETBOX_KEY2 = f"  - secretbox:\n      keys:\n      - name: key2\n        secret: {KEY2}"
SECRETBOX_WRONG = f"  - secretbox:\n      keys:\n      - name: key2\n        secret: {KEY1}"
IDENTITY = "  - identity: {}"


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("enc") / "encryption.yaml"
    path.write_text(_config(AESCBC_KEY1, IDENTITY))
    return path


@pytest.fixture(scope="module")
def enc_server(server_available: None, config_file: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(extra_args=["--encryption-provider-config", str(config_file)], start_timeout=120)
    try:
        srv.start()
        yield srv
    finally:
        srv.close()


def _raw(srv: ServerProcess, key: str) -> bytes:
    con = sqlite3.connect(f"file:{os.path.join(srv.data_dir, 'state.db')}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT h.value FROM cur c JOIN kv h ON h.rev = c.rev WHERE c.key = ?", (key,)).fetchone()
    finally:
        con.close()
    assert row is not None, key
    return bytes(row[0])


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_secrets_are_ciphertext_on_disk_and_plaintext_through_kubectl(enc_server: ServerProcess) -> None:
    enc_server.kubectl("create", "secret", "generic", "db", "--from-literal=password=hunter2")
    enc_server.kubectl("create", "configmap", "plain", "--from-literal=colour=blue")
    raw = _raw(enc_server, SECRET_KEY.format("db"))
    assert raw.startswith(b"k8s:enc:aescbc:v1:key1:")
    assert b"hunter2" not in raw and base64.b64encode(b"hunter2") not in raw and b'"db"' not in raw
    assert _raw(enc_server, "/registry/core/configmaps/default/plain").startswith(b"{")  # not listed: plaintext
    out = enc_server.kubectl("get", "secret", "db", "-o", "jsonpath={.data.password}").stdout
    assert base64.b64decode(out) == b"hunter2"
    listed = enc_server.kubectl("get", "secrets", "-o", "name").stdout.split()
    assert "secret/db" in listed


def test_data_dir_database_and_keys_are_owner_only(enc_server: ServerProcess) -> None:
    data = enc_server.data_dir
    assert _mode(data) == 0o700
    for name in ("state.db", "state.db-wal", "state.db-shm", "admin.kubeconfig"):
        assert _mode(os.path.join(data, name)) == 0o600, name
    pki = os.path.join(data, "pki")
    assert _mode(pki) == 0o700
    keys = [f for f in os.listdir(pki) if f.endswith((".key", ".token"))]
    assert "ca.key" in keys and "admin.token" in keys
    for name in keys:
        assert _mode(os.path.join(pki, name)) == 0o600, name


def test_rotation_reencryption_and_a_wrong_key(enc_server: ServerProcess, config_file: Path) -> None:
    srv = enc_server
    srv.kubectl("create", "secret", "generic", "rotated", "--from-literal=token=s3cr3t")
    assert _raw(srv, SECRET_KEY.format("rotated")).startswith(b"k8s:enc:aescbc:v1:key1:")

    # A new first provider; the old key stays readable.  Files left open by an older install get fixed.
    config_file.write_text(_config(SECRETBOX_KEY2, AESCBC_KEY1, IDENTITY))
    srv.stop()
    os.chmod(srv.data_dir, 0o755)
    os.chmod(os.path.join(srv.data_dir, "state.db"), 0o644)
    os.chmod(os.path.join(srv.data_dir, "pki", "ca.key"), 0o644)
    srv.restart()
    assert _mode(srv.data_dir) == 0o700
    assert _mode(os.path.join(srv.data_dir, "state.db")) == 0o600
    assert _mode(os.path.join(srv.data_dir, "pki", "ca.key")) == 0o600
    assert _raw(srv, SECRET_KEY.format("rotated")).startswith(b"k8s:enc:aescbc:v1:key1:")
    out = srv.kubectl("get", "secret", "rotated", "-o", "jsonpath={.data.token}").stdout
    assert base64.b64decode(out) == b"s3cr3t"

    # Upstream's documented re-encryption: every Secret read and written back unchanged.
    dump = srv.kubectl("get", "secrets", "-A", "-o", "json").stdout
    replaced = srv.kubectl("replace", "-f", "-", input=dump).stdout
    assert "secret/rotated replaced" in replaced
    assert _raw(srv, SECRET_KEY.format("rotated")).startswith(b"k8s:enc:secretbox:v1:key2:")

    # The wrong key: upstream's 500 InternalError (a list names the key it could not read).
    config_file.write_text(_config(SECRETBOX_WRONG))
    srv.restart()
    try:
        got = srv.kubectl("get", "secret", "rotated", check=False)
        assert got.returncode == 1
        assert got.stderr.strip() == \
            "Error from server (InternalError): Internal error occurred: output array did not decrypt"
        listed = srv.kubectl("get", "secrets", check=False)
        assert listed.returncode == 1
        assert listed.stderr.strip().startswith(
            'Error from server (InternalError): Internal error occurred: unable to transform key "'
            '/registry/core/secrets/')
    finally:
        config_file.write_text(_config(SECRETBOX_KEY2, AESCBC_KEY1, IDENTITY))
        srv.restart()
    assert base64.b64decode(srv.kubectl("get", "secret", "rotated", "-o", "jsonpath={.data.token}").stdout) \
        == b"s3cr3t"


def test_a_bad_config_file_stops_the_server_before_it_starts(tmp_path: Path, server_available: None) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(_config("  - aescbc:\n      keys:\n      - name: k\n        secret: c2hvcnQ="))
    srv = ServerProcess(extra_args=["--encryption-provider-config", str(bad)])
    try:
        proc = subprocess.run(srv.command(), capture_output=True, text=True, timeout=60)
    finally:
        srv.close()
    assert proc.returncode == 1
    assert ('resources[0].providers[0].aescbc.keys[0].secret: Invalid value: "REDACTED": secret is not of the '
            "expected length, got 5, expected one of [16 24 32]") in proc.stderr


@pytest.mark.etcd
def test_etcd_holds_ciphertext(server_available: None, tmp_path: Path) -> None:
    if shutil.which("etcd") is None or shutil.which("etcdctl") is None:
        pytest.skip("etcd binaries are missing")
    config = tmp_path / "enc.yaml"
    config.write_text(_config(SECRETBOX_KEY2, IDENTITY))
    srv = ServerProcess(etcd=True, extra_args=["--encryption-provider-config", str(config)], start_timeout=120)
    try:
        srv.start()
        srv.kubectl("create", "secret", "generic", "in-etcd", "--from-literal=password=hunter2")
        raw = subprocess.run(["etcdctl", f"--endpoints={srv.etcd.endpoint}", "get", SECRET_KEY.format("in-etcd"),
                              "--print-value-only"], capture_output=True, timeout=60, check=True).stdout
        assert raw.startswith(b"k8s:enc:secretbox:v1:key2:") and b"hunter2" not in raw
        out = srv.kubectl("get", "secret", "in-etcd", "-o", "jsonpath={.data.password}").stdout
        assert base64.b64decode(out) == b"hunter2"
    finally:
        srv.close()
