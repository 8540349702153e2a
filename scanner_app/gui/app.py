"""Start the desktop app: ``run()`` builds the QApplication and the main window and runs the event loop."""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from scanner_app.paths import resource_path

APP_NAME = "Handwriting Scanner"
ORG_NAME = "HandwritingScanner"
ORG_DOMAIN = "handwriting-scanner.example.org"


def app_icon() -> QIcon:
    """Return the application icon (empty if the resources are missing)."""
    icon = QIcon()
    for name in ("app.png", "app.ico"):
        path = resource_path("icons", name)
        if path.is_file():
            icon.addFile(str(path))
    return icon


def install_excepthook() -> None:
    """Send every unexpected exception to one crash dialog instead of a silent exit or a lost traceback."""
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        from scanner_app.gui import dialogs

        details = dialogs.format_exception(exc_type, exc, tb)
        sys.stderr.write(details)
        try:
            dialogs.show_crash(QApplication.activeWindow(), details)
        except Exception:  # noqa: BLE001 - the crash dialog itself must never crash the app
            previous(exc_type, exc, tb)

    sys.excepthook = hook


def make_application(argv: list[str] | None = None) -> QApplication:
    """Return the QApplication (creating it if needed) with the names QSettings relies on."""
    app = QApplication.instance()
    if app is None:
        # Keep the program name first (window managers use it); Qt may take its own options from the rest.
        app = QApplication([sys.argv[0] if sys.argv else "handwriting-scanner", *(argv or [])])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setOrganizationDomain(ORG_DOMAIN)
    from scanner_app import __version__

    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    return app


def start_window(open_path: str | Path | None = None, **window_options):
    """Show the main window; with ``open_path`` (an "Open with" file), scan it once the window is up.

    ``window_options`` go to ``MainWindow`` (tests pass isolated settings and the model).
    """
    from PySide6.QtCore import QTimer

    from scanner_app.gui.main_window import MainWindow

    window = MainWindow(**window_options)
    window.show()
    if open_path is not None:
        # After the first paint, so the window appears at once; a missing or bad file gets the usual dialog.
        QTimer.singleShot(0, lambda: window.open_file(open_path, ask_to_save=False))
    return window


def run(argv: list[str] | None = None, open_path: str | Path | None = None) -> int:
    """Open the main window (scanning ``open_path`` if given); run until it closes; return the exit code."""
    app = make_application(argv)
    install_excepthook()
    window = start_window(open_path)  # noqa: F841 - kept alive until the event loop ends
    return int(app.exec())
