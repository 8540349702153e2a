"""Atomic text output: a file is either the complete new text or untouched."""

from __future__ import annotations

import errno
import os

import pytest

from scanner_app.core import textio
from scanner_app.core.errors import OutputError
from scanner_app.core.textio import write_text_atomic


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_new_file(tmp_path):
    path = write_text_atomic(tmp_path / "out.txt", "héllo\nwörld\n")
    assert path.read_text(encoding="utf-8") == "héllo\nwörld\n"
    assert _leftovers(tmp_path) == []
    assert path.stat().st_mode & 0o777 == 0o644


def test_replaces_existing_file_and_keeps_its_mode(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o600)
    write_text_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_disk_full_keeps_previous_file(tmp_path, monkeypatch, where):
    path = tmp_path / "out.txt"
    path.write_text("previous text", encoding="utf-8")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    # Inject the fault at one step of the write.
    if where == "write":
        monkeypatch.setattr(textio.os, "write", full)
    elif where == "fsync":
        monkeypatch.setattr(textio.os, "fsync", full)
    else:
        monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OutputError, match="disk is full") as info:
        write_text_atomic(path, "new text " * 1000)
    assert "\n" not in str(info.value)
    assert path.read_text(encoding="utf-8") == "previous text"
    assert _leftovers(tmp_path) == []


def test_missing_folder(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        write_text_atomic(tmp_path / "nope" / "out.txt", "x")


def test_target_is_a_folder(tmp_path):
    with pytest.raises(OutputError, match="folder"):
        write_text_atomic(tmp_path, "x")


def test_parent_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError):
        write_text_atomic(tmp_path / "file" / "out.txt", "x")


def test_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a read-only folder is still writable")
        with pytest.raises(OutputError, match="permission denied"):
            write_text_atomic(folder / "out.txt", "x")
    finally:
        folder.chmod(0o755)


def test_permission_denied_is_one_line(tmp_path, monkeypatch):
    # Root may write anywhere, so the refusal of a read-only folder is injected here.
    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(textio.tempfile, "mkstemp", denied)
    with pytest.raises(OutputError, match=r"Cannot write .*out\.txt: permission denied\.$"):
        write_text_atomic(tmp_path / "out.txt", "x")
    assert not (tmp_path / "out.txt").exists()
