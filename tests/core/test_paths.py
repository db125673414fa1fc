import errno
import os

import pytest

from modelbook.core.paths import atomic_path, atomic_write_bytes, atomic_write_text


class Crash(Exception):
    pass


def _leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


def test_atomic_write_replaces_the_file(tmp_path):
    target = tmp_path / "sub" / "state.json"
    atomic_write_text(target, "old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert _leftovers(target.parent, "state.json") == []


def test_a_failure_mid_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "deck.apkg"
    target.write_bytes(b"old deck")
    with pytest.raises(Crash):
        with atomic_path(target) as tmp:
            assert tmp.parent == target.parent and tmp.exists()  # same folder, so the rename is atomic
            tmp.write_bytes(b"half a ne")
            raise Crash
    assert target.read_bytes() == b"old deck"
    assert _leftovers(tmp_path, "deck.apkg") == []


@pytest.mark.parametrize("existing", [True, False])
def test_a_full_disk_at_fsync_leaves_the_old_file_or_nothing(tmp_path, monkeypatch, existing):
    target = tmp_path / "ckpt.pt"
    if existing:
        target.write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(target, b"new weights")
    assert [p.name for p in tmp_path.iterdir()] == (["ckpt.pt"] if existing else [])
    if existing:
        assert target.read_bytes() == b"old"


def test_a_writer_that_needs_a_file_name(tmp_path):
    """A program that writes to a path (espeak-ng -w, genanki) fills the temp file; the target appears only after."""
    target = tmp_path / "out.bin"
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"\x00\x01")
        assert not target.exists()
    assert target.read_bytes() == b"\x00\x01"
    assert _leftovers(tmp_path, "out.bin") == []


def test_the_temp_file_is_fsynced_and_renamed(tmp_path, monkeypatch):
    """The order that makes it crash-safe: fsync the data, then rename over the target, then fsync the folder."""
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}"))), real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append(("replace", None)), real_replace(a, b)))
    atomic_write_bytes(tmp_path / "x", b"data")
    assert calls == [("fsync", False), ("replace", None), ("fsync", True)]
