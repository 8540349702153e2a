"""Hardening: a missing or broken model, unexpected errors, the real dialogs, starting the app."""

from __future__ import annotations

import shutil
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from scanner_app.gui import dialogs
from scanner_app.paths import model_dir
from tests.gui.conftest import DATA, draw, pick_samples


def test_window_opens_without_a_model_and_says_what_is_wrong(qtbot, make_window, answers, tmp_path):
    window = make_window(model_dir=tmp_path / "no-model-here")
    qtbot.waitUntil(lambda: window.model_error is not None, timeout=5000)
    message = window.canvas.message()
    assert "not available" in message and window.model_error in message
    assert not window.canvas.isEnabled()
    assert not window.open_action.isEnabled() and not window.open_button.isEnabled()
    assert window.model_error in window.statusBar().currentMessage()
    # The editor still works, and asking to scan says why it cannot.
    window.editor.setPlainText("typed by hand")
    assert window.open_file(DATA / "gui_page.png") is False
    assert answers.errors and answers.errors[0][0] == "Scanning is not available"
    assert not window.is_scanning()


def test_window_opens_with_a_damaged_model_file(qtbot, make_window, tmp_path):
    broken = tmp_path / "model"
    shutil.copytree(model_dir(), broken)
    onnx = broken / "model.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64  # a damaged download
    onnx.write_bytes(bytes(data))
    window = make_window(model_dir=broken)
    assert window.ensure_model() is False
    assert window.model_error
    assert window.model_error in window.canvas.message()
    # Drawing is refused, not crashing: a press on the disabled canvas draws nothing.
    draw(qtbot, window.canvas, pick_samples(1)[0].strokes)
    assert window.canvas.is_empty()
    assert window.prediction_label.text() == "—"


def test_unexpected_error_lands_in_the_crash_dialog(qtbot, window, answers, monkeypatch):
    from scanner_app.gui.app import install_excepthook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    install_excepthook()
    try:
        raise ValueError("a bug nobody expected")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    assert len(answers.crashes) == 1
    assert "ValueError: a bug nobody expected" in answers.crashes[0]
    assert "PySide6" in answers.crashes[0]  # versions come with the report


def test_crash_dialog_copies_its_details(qtbot):
    dialog = dialogs.CrashDialog("Traceback: details to copy")
    qtbot.addWidget(dialog)
    dialog.copy_details()
    assert QApplication.clipboard().text() == "Traceback: details to copy"


def test_about_dialog_shows_the_model_card(qtbot, window, answers, classifier):
    window.about_action.trigger()
    assert answers.abouts == [(classifier.card, None)]
    dialog = dialogs.AboutDialog(classifier.card)
    qtbot.addWidget(dialog)
    text = dialog.model_text.text()
    assert "Accuracy on writers it never saw" in text
    some_set = next(iter(classifier.card["data_sets"]))
    assert some_set in text


def close_next_message_box(button: QMessageBox.StandardButton) -> None:
    """Answer the next modal message box the way a user would, by pressing one of its buttons."""

    def answer():
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                widget.button(button).click()
                return
        QTimer.singleShot(20, answer)

    QTimer.singleShot(0, answer)


def test_real_unsaved_changes_dialog_returns_the_users_choice(qtbot):
    close_next_message_box(QMessageBox.StandardButton.Discard)
    assert dialogs.ask_unsaved_changes(None) == dialogs.DISCARD
    close_next_message_box(QMessageBox.StandardButton.Cancel)
    assert dialogs.ask_unsaved_changes(None) == dialogs.CANCEL


def test_app_run_opens_the_main_window_and_returns_on_close(qtbot, monkeypatch, tmp_path):
    from PySide6.QtCore import QSettings

    from scanner_app.gui import app as app_module
    from scanner_app.gui.main_window import MainWindow

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    # Isolated settings for the window that run() builds.
    store = QSettings(str(tmp_path / "run.ini"), QSettings.Format.IniFormat)
    original_init = MainWindow.__init__

    def init(self, *args, **kwargs):
        from scanner_app.gui.settings import AppSettings

        kwargs.setdefault("settings", AppSettings(store))
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(MainWindow, "__init__", init)
    seen = []

    def close_it():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        if not windows:
            QTimer.singleShot(20, close_it)
            return
        seen.append(windows[0].windowTitle())
        windows[0].close()

    QTimer.singleShot(0, close_it)
    assert app_module.run([]) == 0
    assert seen and "Handwriting Scanner" in seen[0]
    assert QApplication.applicationName() == "Handwriting Scanner"
    assert not QApplication.windowIcon().isNull()


def test_dialogs_are_modal_windows_of_the_app(qtbot):
    dialog = dialogs.AboutDialog(None, "The model file is missing.")
    qtbot.addWidget(dialog)
    assert isinstance(dialog, QDialog)
    assert "not available" in dialog.model_text.text()


def test_window_loads_the_bundled_model_by_itself_after_showing(qtbot, make_window):
    window = make_window(model_dir=model_dir())
    qtbot.waitUntil(lambda: window._classifier is not None, timeout=20_000)
    assert window.model_error is None
    assert window.canvas.message() == "" and window.canvas.isEnabled()
    assert window.open_action.isEnabled()
    draw(qtbot, window.canvas, pick_samples(3, "digits")[1].strokes)
    assert window.prediction_label.text()[:1].isalnum()
