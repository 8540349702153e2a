"""Files and settings: the user saves, is asked about unsaved edits, and finds options remembered."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from scanner_app.gui import dialogs
from tests.gui.conftest import DATA

PAGE = DATA / "gui_page.png"


def type_text(qtbot, editor, text: str) -> None:
    """Type like a user: real key events (non-ASCII ones as keyboard layouts send them, by text)."""
    editor.setFocus()
    for ch in text:
        if ch.isascii():
            qtbot.keyClicks(editor, ch)
        else:
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(editor, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, ch))


def test_user_edits_saves_and_reopens_the_text(qtbot, window, answers, tmp_path):
    target = tmp_path / "notes"  # no suffix: .txt is added by the save dialog wrapper
    answers.save_path = str(target) + ".txt"
    type_text(qtbot, window.editor, "Grüße, naïve café ✓")
    assert window.isWindowModified()
    qtbot.keyClick(window.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = tmp_path / "notes.txt"
    assert saved.read_text(encoding="utf-8") == "Grüße, naïve café ✓\n"
    assert not window.editor.document().isModified() and not window.isWindowModified()
    assert window.current_path == saved
    assert "notes" in window.windowTitle()
    # More edits, Ctrl+S again: same file, no dialog needed (save_path would now point elsewhere).
    answers.save_path = str(tmp_path / "elsewhere.txt")
    qtbot.keyClick(window.editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.editor, Qt.Key.Key_Return)
    qtbot.keyClicks(window.editor, "line 2")
    qtbot.keyClick(window.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert saved.read_text(encoding="utf-8") == "Grüße, naïve café ✓\nline 2\n"
    assert not (tmp_path / "elsewhere.txt").exists()
    assert list(tmp_path.glob(".*tmp")) == []  # the atomic write left no temporary file
    # Reopen: the saved bytes are UTF-8 and read back identically.
    assert saved.read_bytes().decode("utf-8").rstrip("\n") == window.editor.toPlainText()


def test_failed_save_keeps_the_text_and_says_why(qtbot, window, answers, tmp_path):
    answers.save_path = str(tmp_path / "missing-folder" / "notes.txt")
    type_text(qtbot, window.editor, "precious words")
    assert window.save() is False
    assert len(answers.errors) == 1
    title, message = answers.errors[0]
    assert title == "Could not save"
    assert "does not exist" in message
    assert window.editor.toPlainText() == "precious words"
    assert window.editor.document().isModified()


def test_closing_with_unsaved_edits_asks_and_cancel_keeps_the_window(qtbot, window, answers):
    type_text(qtbot, window.editor, "draft")
    answers.unsaved_answer = dialogs.CANCEL
    assert window.close() is False
    assert answers.unsaved_prompts == 1
    assert window.isVisible() and window.editor.toPlainText() == "draft"
    answers.unsaved_answer = dialogs.DISCARD
    assert window.close() is True


def test_closing_with_unsaved_edits_can_save_first(qtbot, window, answers, tmp_path):
    type_text(qtbot, window.editor, "keep me")
    answers.unsaved_answer = dialogs.SAVE
    answers.save_path = str(tmp_path / "kept.txt")
    assert window.close() is True
    assert (tmp_path / "kept.txt").read_text(encoding="utf-8") == "keep me\n"


def test_opening_a_page_over_unsaved_edits_asks_first(qtbot, window, answers):
    type_text(qtbot, window.editor, "unsaved thoughts")
    answers.unsaved_answer = dialogs.CANCEL
    assert window.open_file(PAGE) is False
    assert not window.is_scanning()
    assert window.editor.toPlainText() == "unsaved thoughts"
    answers.unsaved_answer = dialogs.DISCARD
    with qtbot.waitSignal(window.runner.idle, timeout=120_000):
        assert window.open_file(PAGE)
    assert answers.unsaved_prompts == 2
    assert window.editor.toPlainText() != "unsaved thoughts"


def test_open_dialog_cancelled_changes_nothing(qtbot, window, answers):
    answers.open_path = None
    window.open_action.trigger()
    assert not window.is_scanning()
    assert answers.errors == []


def test_user_copies_all_text(qtbot, window):
    type_text(qtbot, window.editor, "copy this")
    qtbot.mouseClick(window.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == "copy this"


def test_new_text_after_saving_starts_empty_without_asking(qtbot, window, answers, tmp_path):
    answers.save_path = str(tmp_path / "a.txt")
    type_text(qtbot, window.editor, "abc")
    assert window.save()
    window.new_action.trigger()
    assert window.editor.toPlainText() == ""
    assert answers.unsaved_prompts == 0
    assert window.current_path is None


def test_settings_are_remembered_in_their_own_file(qtbot, make_window, settings, tmp_path):
    from PySide6.QtCore import QPoint

    first = make_window()
    button = first.charset_buttons["digits"]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(8, button.height() // 2))
    first.dictionary_check.setChecked(False)
    first.settings.add_recent(PAGE)
    first.resize(760, 520)  # inside the offscreen screen (800 x 600), so nothing is clamped
    assert first.close()
    second = make_window()
    assert second.charset() == "digits"
    assert not second.dictionary_check.isChecked()
    assert second.settings.recent_files[0] == str(PAGE.resolve())
    assert (second.width(), second.height()) == (760, 520)
    assert (tmp_path / "settings.ini").is_file()
    second._fill_recent_menu()
    assert [a.text() for a in second.recent_menu.actions()] == [f"&1 {PAGE.name}"]


def test_a_fresh_scan_counts_as_unsaved_text(qtbot, window, answers, tmp_path):
    from tests.gui.test_scan import scan_and_wait

    scan_and_wait(qtbot, window)
    assert window.editor.toPlainText().strip()
    assert window.editor.document().isModified() and window.isWindowModified()
    # Closing asks; Cancel keeps the window and the reading.
    answers.unsaved_answer = dialogs.CANCEL
    assert window.close() is False
    assert answers.unsaved_prompts == 1 and window.isVisible()
    # Saving it clears the mark; a second scan over saved text does not ask again.
    answers.save_path = str(tmp_path / "page.txt")
    assert window.save()
    assert not window.isWindowModified()
    scan_and_wait(qtbot, window)
    assert answers.unsaved_prompts == 1
