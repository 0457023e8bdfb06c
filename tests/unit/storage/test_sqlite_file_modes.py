"""The SQLite database and its WAL files are the owner's only, new or left open by an older version."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pyk8s.storage import open_storage
from pyk8s.util import pki


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_database_files_are_created_and_fixed_0600(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    old = os.umask(0o022)
    try:
        store = open_storage(f"sqlite://{db}")
        await store.start()
        await store.create("/registry/core/secrets/default/s", b"{}")
        for name in ("state.db", "state.db-wal", "state.db-shm", "state.db.lock"):
            assert _mode(tmp_path / name) == 0o600, name
        await store.close()
        for name in ("state.db", "state.db-wal", "state.db-shm"):
            if (tmp_path / name).exists():
                os.chmod(tmp_path / name, 0o644)
        again = open_storage(f"sqlite://{db}")
        await again.start()
        assert _mode(db) == 0o600
        await again.close()
    finally:
        os.umask(old)


def test_private_dir_tightens_an_existing_directory(tmp_path: Path) -> None:
    d = tmp_path / "data"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    pki.private_dir(d)
    assert _mode(d) == 0o700
    pki.private_dir(tmp_path / "new" / "dir")
    assert _mode(tmp_path / "new" / "dir") == 0o700


def test_ensure_pki_fixes_key_modes(tmp_path: Path) -> None:
    pki.ensure_pki(tmp_path / "pki", dns_names=("localhost",), ip_addresses=("127.0.0.1",))
    os.chmod(tmp_path / "pki" / "ca.key", 0o644)
    (tmp_path / "pki" / "admin.token").write_text("t")
    os.chmod(tmp_path / "pki" / "admin.token", 0o644)
    pki.ensure_pki(tmp_path / "pki", dns_names=("localhost",), ip_addresses=("127.0.0.1",))
    assert _mode(tmp_path / "pki" / "ca.key") == 0o600
    assert _mode(tmp_path / "pki" / "admin.token") == 0o600
    assert _mode(tmp_path / "pki") == 0o700
