"""Write text files atomically: the target is either the complete new text or left untouched.

Used by the CLI (``-o`` / ``--out-dir``) and by the GUI's Save, which also share ``PAGE_SEPARATOR``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from .errors import OutputError

# Between the pages of a multi-page TIFF/PDF: a form feed on its own line. The CLI and the GUI join pages
# with it, so a saved text is the same file either way.
PAGE_SEPARATOR = "\n\f\n"

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "it is a folder",
    errno.ENAMETOOLONG: "the file name is too long",
}


def _reason(exc: OSError) -> str:
    return _REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path.

    The text goes to a temporary file in the same folder, is flushed to disk (fsync) and
    then renamed over ``path`` (``os.replace``), so an existing file is only replaced when
    the new one is complete. Any failure raises :class:`OutputError` with a one-line
    message, removes the temporary file and leaves a previous file intact.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path()
    if path.is_dir():
        raise OutputError(f"Cannot write {path}: it is a folder.")
    if not folder.exists():
        raise OutputError(f"Cannot write {path}: the folder {folder} does not exist.")
    if not folder.is_dir():
        raise OutputError(f"Cannot write {path}: {folder} is not a folder.")
    data = text.encode(encoding)
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp = Path(tmp_name)
        try:
            # mkstemp makes the file private (0600); keep the old file's mode, or the usual 0644.
            tmp.chmod(path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        except OSError:
            pass  # permissions are a courtesy, not a requirement
        tmp.replace(path)  # os.replace: atomic on POSIX and Windows
        tmp_name = None
    except OSError as exc:
        raise OutputError(f"Cannot write {path}: {_reason(exc)}.") from exc
    finally:
        if tmp_name is not None:
            try:
                Path(tmp_name).unlink()
            except OSError:
                pass
    return path
