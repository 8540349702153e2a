"""The project's exceptions: one base class whose message a user can act on.

The CLI prints ``str(error)`` as one line and exits non-zero; the GUI shows it in a dialog.
Anything that is not a ``ScannerError`` is a bug and is reported as such.
"""

from __future__ import annotations


class ScannerError(Exception):
    """Base class. ``str(err)`` is a complete sentence meant for the user."""

    exit_code = 1


class InputImageError(ScannerError):
    """The input file is missing, unreadable, not an image, corrupt or too large."""

    exit_code = 2


class EmptyPageError(ScannerError):
    """The page holds no handwriting that could be read."""

    exit_code = 3


class ModelError(ScannerError):
    """The bundled model is missing, damaged or does not match its model card."""

    exit_code = 4


class OutputError(ScannerError):
    """The result could not be written (missing folder, no permission, disk full)."""

    exit_code = 5


class CancelledError(ScannerError):
    """The user cancelled a running scan."""

    exit_code = 130
