"""Typed access to the app's persistent settings (window geometry, folders, options, recent files).

Tests pass an isolated ``QSettings(path, QSettings.IniFormat)`` so they never touch the user's settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

CHARSETS = ("alnum", "letters", "digits")
MAX_RECENT = 8


class AppSettings:
    """A thin, typed wrapper around one ``QSettings`` store."""

    def __init__(self, store: QSettings | None = None) -> None:
        # The default store is the per-user one named by the application's name and organisation.
        self.store = store if store is not None else QSettings()

    # -- window -------------------------------------------------------------------------------
    @property
    def geometry(self) -> QByteArray | None:
        """The main window's saved geometry, or None."""
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self.store.setValue("window/geometry", value)

    @property
    def window_state(self) -> QByteArray | None:
        """The main window's saved splitter state, or None."""
        value = self.store.value("window/splitter")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @window_state.setter
    def window_state(self, value: QByteArray) -> None:
        self.store.setValue("window/splitter", value)

    # -- options ------------------------------------------------------------------------------
    @property
    def last_folder(self) -> str:
        """The folder of the last opened or saved file (the home folder at first)."""
        value = self.store.value("files/last_folder", "")
        folder = str(value) if value else ""
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self.store.setValue("files/last_folder", str(folder))

    @property
    def dictionary(self) -> bool:
        """Whether scans use word-list correction."""
        return _as_bool(self.store.value("scan/dictionary", True))

    @dictionary.setter
    def dictionary(self, on: bool) -> None:
        self.store.setValue("scan/dictionary", bool(on))

    @property
    def charset(self) -> str:
        """Which characters the model may answer: ``alnum``, ``letters`` or ``digits``."""
        value = str(self.store.value("recognition/charset", "alnum"))
        return value if value in CHARSETS else "alnum"

    @charset.setter
    def charset(self, value: str) -> None:
        if value not in CHARSETS:
            raise ValueError(f"charset must be one of {CHARSETS}, got {value!r}")
        self.store.setValue("recognition/charset", value)

    # -- recent files ---------------------------------------------------------------------------
    @property
    def recent_files(self) -> list[str]:
        """Recently opened files, newest first."""
        value = self.store.value("files/recent", [])
        if value is None:
            return []
        if isinstance(value, str):  # an INI store gives a single item back as a plain string
            value = [value] if value else []
        return [str(v) for v in value][:MAX_RECENT]

    def add_recent(self, path: str | Path) -> None:
        """Put ``path`` first in the recent files (once) and remember its folder."""
        text = str(Path(path).resolve())
        items = [p for p in self.recent_files if p != text]
        self.store.setValue("files/recent", [text, *items][:MAX_RECENT])
        self.last_folder = str(Path(text).parent)

    def remove_recent(self, path: str | Path) -> None:
        """Forget ``path`` (for example because it no longer exists)."""
        text = str(path)
        self.store.setValue("files/recent", [p for p in self.recent_files if p != text])

    def sync(self) -> None:
        """Write pending changes to disk."""
        self.store.sync()


def _as_bool(value: object) -> bool:
    """Read a bool that an INI store may give back as the string 'true' or 'false'."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
