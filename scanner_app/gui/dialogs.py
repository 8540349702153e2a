"""Every dialog the app shows goes through these few functions, so tests can answer them.

Tests replace a function here (``monkeypatch.setattr(dialogs, "ask_unsaved_changes", ...)``); the main
window always calls them as ``dialogs.<name>(...)``, never through a local import.
"""

from __future__ import annotations

import platform
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from scanner_app import __version__ as app_version
from scanner_app.core.types import PAGE_SUFFIXES

OPEN_FILTER = f"Images and PDFs ({' '.join('*' + s for s in PAGE_SUFFIXES)});;All files (*)"
SAVE_FILTER = "Text files (*.txt);;All files (*)"

# Answers of ask_unsaved_changes.
SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    """Tell the user that something they asked for failed, with the core's own message."""
    QMessageBox.warning(parent, title, message)


def show_info(parent: QWidget | None, title: str, message: str) -> None:
    """Show a short piece of information."""
    QMessageBox.information(parent, title, message)


def ask_unsaved_changes(parent: QWidget | None, what: str = "The text has unsaved changes.") -> str:
    """Ask whether to save edited text first; returns ``SAVE``, ``DISCARD`` or ``CANCEL``."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Unsaved changes")
    box.setText(what)
    box.setInformativeText("Do you want to save your changes?")
    box.setStandardButtons(
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel
    )
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    if answer == QMessageBox.StandardButton.Save:
        return SAVE
    if answer == QMessageBox.StandardButton.Discard:
        return DISCARD
    return CANCEL


def get_open_path(parent: QWidget | None, folder: str) -> str | None:
    """Ask for an image or PDF to scan; None when the user cancels."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open a page", folder, OPEN_FILTER)
    return path or None


def get_save_path(parent: QWidget | None, suggestion: str) -> str | None:
    """Ask where to save the text; None when the user cancels. Adds ``.txt`` when no suffix is given."""
    path, _ = QFileDialog.getSaveFileName(parent, "Save text", suggestion, SAVE_FILTER)
    if not path:
        return None
    return path if Path(path).suffix else path + ".txt"


def format_exception(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> str:
    """Return the full report of an unexpected error: traceback plus versions."""
    lines = traceback.format_exception(exc_type, exc, tb)
    return "".join(lines) + "\n" + versions_text()


def show_crash(parent: QWidget | None, details: str) -> None:
    """Report an unexpected error (a bug) with its details, which the user can copy."""
    dialog = CrashDialog(details, parent)
    dialog.exec()


def show_about(parent: QWidget | None, card: dict | None, model_problem: str | None = None) -> None:
    """Show the About dialog with the model card and versions."""
    dialog = AboutDialog(card, model_problem, parent)
    dialog.exec()


def versions_text() -> str:
    """Return one line per component version (for the About and crash dialogs)."""
    parts = [
        f"Handwriting Scanner {app_version}",
        f"Python {platform.python_version()} ({sys.platform})",
        f"Qt {qVersion()}, PySide6 {pyside_version}",
    ]
    # Only report what is already loaded: the dialog must not pull in heavy runtimes.
    for name in ("numpy", "cv2", "onnxruntime"):
        module = sys.modules.get(name)
        if module is not None:
            parts.append(f"{name} {getattr(module, '__version__', '?')}")
    return "\n".join(parts)


class CrashDialog(QDialog):
    """An unexpected error: a plain explanation, the details, and a button to copy them."""

    def __init__(self, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("crashDialog")
        self.setWindowTitle("Unexpected error")
        self.details = details
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Something went wrong inside Handwriting Scanner. Your text is still in the window; "
            "save it if you can.\nPlease report this error together with the details below."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        text = QPlainTextEdit(details)
        text.setReadOnly(True)
        text.setObjectName("crashDetails")
        text.setMinimumSize(560, 220)
        layout.addWidget(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("&Copy details")
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)

    def copy_details(self) -> None:
        """Put the details on the clipboard."""
        QApplication.clipboard().setText(self.details)


class AboutDialog(QDialog):
    """What the app is, how good its model is (from the model card) and which versions run it."""

    def __init__(self, card: dict | None, model_problem: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Handwriting Scanner")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        title = QLabel(f"<h2>Handwriting Scanner {app_version}</h2>")
        title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(title)
        blurb = QLabel(
            "Turn handwriting into editable text: draw a character and see the model's guesses, "
            "or scan a page photo into text you can correct and save."
        )
        blurb.setWordWrap(True)
        layout.addWidget(blurb)
        self.model_text = QLabel(model_card_text(card, model_problem))
        self.model_text.setObjectName("aboutModelCard")
        self.model_text.setWordWrap(True)
        self.model_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.model_text)
        versions = QLabel(versions_text())
        versions.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(versions)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def model_card_text(card: dict | None, model_problem: str | None = None) -> str:
    """Summarise a model card in a few plain lines (tolerant of missing keys)."""
    if model_problem:
        return f"Model: not available. {model_problem}"
    if not card:
        return "Model: no model card."
    name = card.get("name", "character classifier")
    when = card.get("version") or str(card.get("date", ""))[:10]
    lines = [f"Model: {name}" + (f" ({when})" if when else "")]
    classes = card.get("classes") or card.get("labels")
    if classes:
        lines.append(f"Classes: {len(classes)} ({''.join(map(str, classes))[:40]})")
    datasets = card.get("data_sets") or card.get("datasets") or card.get("training_data")
    if datasets:
        if isinstance(datasets, dict):
            datasets = list(datasets)
        if isinstance(datasets, list):
            datasets = ", ".join(str(d.get("name", d)) if isinstance(d, dict) else str(d) for d in datasets)
        lines.append(f"Data sets (trained on training writers, measured on others): {datasets}")
    accuracy = card.get("test_accuracy") or card.get("accuracy") or card.get("metrics")
    if isinstance(accuracy, dict):
        items = []
        for key, value in accuracy.items():
            if isinstance(value, int | float):
                items.append(f"{key} {value:.1%}" if value <= 1 else f"{key} {value}")
        accuracy = " · ".join(items)
    elif isinstance(accuracy, float):
        accuracy = f"{accuracy:.1%}"
    if accuracy:
        lines.append(f"Accuracy on writers it never saw: {accuracy}")
    samples = (card.get("training") or {}).get("train_samples")
    if samples:
        lines.append(f"Training samples: {samples:,}")
    return "\n".join(lines)
