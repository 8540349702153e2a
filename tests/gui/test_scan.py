"""Scan mode: the user opens a page, watches it being read, checks boxes against the text, cancels."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from scanner_app.core.errors import InputImageError
from scanner_app.core.image_io import load_page
from tests.gui.conftest import DATA
from tests.pagegen import cer

PAGE = DATA / "gui_page.png"
TRUTH = (DATA / "gui_page.txt").read_text(encoding="utf-8").strip()
SCAN_TIMEOUT = 120_000


def scan_and_wait(qtbot, window, path: Path = PAGE) -> None:
    """Open a page the way the user does and wait until the worker thread has stopped."""
    with qtbot.waitSignal(window.runner.idle, timeout=SCAN_TIMEOUT):
        assert window.open_file(path)
        assert window.is_scanning()
    assert not window.is_scanning()


@pytest.fixture(scope="module")
def scanned(qapp, classifier):
    """The core's own result for the committed page (to compare the window against)."""
    from scanner_app.core.pipeline import ScanConfig, run_scan

    return run_scan(load_page(PAGE), classifier, ScanConfig())


def test_user_scans_a_page_and_gets_its_text(qtbot, window, answers, scanned):
    progress = []
    window.runner.progress.connect(lambda p: progress.append(window.progress.value()))
    scan_and_wait(qtbot, window)
    assert answers.errors == [] and answers.crashes == []
    text = window.editor.toPlainText()
    # The window shows exactly what the core read ...
    assert text == scanned.text
    # ... which is close to what is written (case aside: the model merges upper and lower case).
    assert cer(TRUTH.lower(), text.lower()) < 0.15, text
    assert len(text.splitlines()) == len(TRUTH.splitlines())
    # Progress only moves forward and ends full; the reading is not saved yet.
    assert progress == sorted(progress) and len(progress) >= 4
    assert window.progress.value() == window.progress.maximum()
    assert window.editor.document().isModified()
    # One box per character, on the page.
    view = window.page_view
    assert len(view.boxes) == len(scanned.chars)
    page_rect = view.sceneRect()
    assert all(page_rect.contains(b.sceneBoundingRect()) for b in view.boxes)
    assert str(PAGE.resolve()) in window.settings.recent_files


def test_hovering_a_box_shows_its_alternatives(qtbot, window):
    scan_and_wait(qtbot, window)
    box = window.page_view.boxes[0]
    tip = box.toolTip()
    assert tip.startswith(f"'{box.pred.char}'")
    for alt, _ in box.pred.alternatives[1:]:
        assert alt in tip


def click_box(qtbot, view, index: int) -> None:
    item = view.box_for(index)
    view.ensureVisible(item)
    centre = view.mapFromScene(item.sceneBoundingRect().center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)


def test_clicking_a_box_selects_its_character_and_the_cursor_highlights_the_box(qtbot, window):
    scan_and_wait(qtbot, window)
    editor, view = window.editor, window.page_view
    index = len(view.boxes) // 2
    click_box(qtbot, view, index)
    cursor = editor.textCursor()
    assert cursor.selectedText() == editor.preds[index].char
    assert cursor.selectionStart() == editor.position_of(index)
    assert view.selected_index() == index
    # The reverse: put the text cursor on another character, its box lights up.
    other = 1
    cursor.setPosition(editor.position_of(other))
    editor.setTextCursor(cursor)
    assert view.selected_index() == other


def test_user_edits_the_text_and_boxes_still_point_at_the_right_characters(qtbot, window):
    scan_and_wait(qtbot, window)
    editor, view = window.editor, window.page_view
    last = len(view.boxes) - 1
    char_of_last = editor.toPlainText()[editor.position_of(last)]
    # Type a title at the very start.
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, "Note: ")
    assert editor.toPlainText().startswith("Note: ")
    assert editor.document().isModified()
    click_box(qtbot, view, last)
    assert editor.textCursor().selectedText() == char_of_last
    # Delete the first scanned character: its box no longer selects anything, the others still do.
    first_pos = editor.position_of(0)
    cursor = editor.textCursor()
    cursor.setPosition(first_pos)
    editor.setTextCursor(cursor)
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    assert editor.position_of(0) is None
    click_box(qtbot, view, 0)
    assert "no longer linked" in window.statusBar().currentMessage()
    click_box(qtbot, view, last)
    assert editor.textCursor().selectedText() == char_of_last
    assert editor.toPlainText().startswith("Note: ")  # the user's edit was kept


def test_user_right_clicks_a_doubtful_character_and_picks_an_alternative(qtbot, window):
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QContextMenuEvent, QTextCursor

    scan_and_wait(qtbot, window)
    editor = window.editor
    index = min(range(len(editor.preds)), key=lambda i: editor.preds[i].confidence)
    pos = editor.position_of(index)
    cursor = QTextCursor(editor.document())
    cursor.setPosition(pos)
    rect = editor.cursorRect(cursor)
    point = QPoint(rect.x() + 2, rect.center().y())  # just right of the gap before the character: on it
    chosen = []

    def pick_from_menu():
        menu = QApplication.activePopupWidget()
        if menu is None:
            QTimer.singleShot(20, pick_from_menu)
            return
        action = next(a for a in menu.actions() if a.data())
        chosen.append(action.data())
        action.trigger()
        menu.close()

    QTimer.singleShot(0, pick_from_menu)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point, editor.viewport().mapToGlobal(point))
    QApplication.sendEvent(editor.viewport(), event)
    assert chosen, "the menu offered no alternative"
    assert editor.toPlainText()[pos] == chosen[0]
    assert editor.position_of(index) == pos  # still linked to its box
    assert index in editor.confirmed
    assert pos not in editor.low_confidence_positions()
    assert editor.document().isModified()


def test_doubtful_characters_are_highlighted(qtbot, window):
    scan_and_wait(qtbot, window)
    editor = window.editor
    low = editor.low_confidence_positions()
    from scanner_app.gui.page_view import HIGH

    expected = [editor.position_of(i) for i, p in enumerate(editor.preds) if p.confidence < HIGH]
    assert low == sorted(expected)
    assert len(editor.extraSelections()) == len(low)


def test_user_zooms_with_the_wheel_and_fits_the_page(qtbot, window):
    scan_and_wait(qtbot, window)
    view = window.page_view
    before = view.zoom()
    centre = QPointF(view.viewport().rect().center())
    event = QWheelEvent(
        centre,
        QPointF(view.viewport().mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)
    assert view.zoom() == pytest.approx(before * 1.25**2)
    window.fit_action.trigger()
    assert view.zoom() == pytest.approx(before)


class GatedClassifier:
    """The real model behind a gate: classifying waits until the test opens it.

    Injected on purpose so the scan is certainly still running when the user presses Cancel
    (a small page is read faster than the click arrives)."""

    def __init__(self, real):
        import threading

        self.real = real
        self.labels = real.labels
        self.card = real.card
        self.gate = threading.Event()

    def predict_proba(self, crops):
        self.gate.wait(30)
        return self.real.predict_proba(crops)

    def top_k(self, probs, k=3, charset="alnum"):
        return self.real.top_k(probs, k, charset)


def test_user_cancels_a_scan_midway(qtbot, make_window, classifier):
    gated = GatedClassifier(classifier)
    window = make_window(classifier=gated)
    window.editor.set_text("my earlier text")
    outcomes = []
    window.runner.finished.connect(lambda r: outcomes.append("finished"))
    window.runner.cancelled.connect(lambda: outcomes.append("cancelled"))

    def press_cancel(step):
        if not outcomes:
            outcomes.append("pressed")
            qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
            gated.gate.set()

    window.runner.progress.connect(press_cancel)
    with qtbot.waitSignal(window.runner.idle, timeout=SCAN_TIMEOUT):
        window.open_file(PAGE)
    assert outcomes == ["pressed", "cancelled"]
    assert window.editor.toPlainText() == "my earlier text"
    assert not window.page_view.has_page()
    assert "cancelled" in window.statusBar().currentMessage()
    assert window.open_button.isEnabled() and not window.cancel_button.isEnabled()


def test_second_scan_while_scanning_is_refused_politely(qtbot, window, answers):
    with qtbot.waitSignal(window.runner.idle, timeout=SCAN_TIMEOUT):
        assert window.open_file(PAGE)
        assert not window.open_button.isEnabled()
        assert window.open_file(PAGE) is False
        assert "already running" in window.statusBar().currentMessage()
        window.paste_action.trigger()  # disabled while scanning: nothing happens
    assert answers.errors == []
    assert window.editor.toPlainText() != ""


def test_corrupt_file_shows_the_cores_message(qtbot, window, answers, tmp_path):
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a picture")
    with pytest.raises(InputImageError) as expected:
        load_page(bad)
    scan_and_wait(qtbot, window, bad)
    assert answers.errors == [("Could not scan the page", str(expected.value))]
    assert answers.crashes == []
    assert window.progress.format() == "Failed"


class ExplodingClassifier:
    """Fault injected on purpose: the real model, except that classifying raises a bug-like error."""

    def __init__(self, real):
        self.real = real
        self.labels = real.labels
        self.card = real.card

    def predict_proba(self, crops):
        raise RuntimeError("simulated failure inside the model")

    def top_k(self, probs, k=3, charset="alnum"):
        return self.real.top_k(probs, k, charset)


def test_exception_inside_the_worker_shows_the_crash_dialog(qtbot, make_window, answers, classifier):
    window = make_window(classifier=ExplodingClassifier(classifier))
    scan_and_wait(qtbot, window)
    assert len(answers.crashes) == 1
    assert "RuntimeError: simulated failure inside the model" in answers.crashes[0]
    assert "Traceback" in answers.crashes[0]
    assert window.open_button.isEnabled()  # the app carries on


def test_user_drops_a_page_on_the_window(qtbot, window):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(PAGE))])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.runner.idle, timeout=SCAN_TIMEOUT):
        window.dropEvent(event)
    assert window.page_view.has_page()
    assert window.editor.toPlainText()


def test_user_pastes_a_picture_from_the_clipboard(qtbot, window):
    from PySide6.QtGui import QImage

    QApplication.clipboard().setImage(QImage(str(PAGE)))
    window.canvas.setFocus()
    with qtbot.waitSignal(window.runner.idle, timeout=SCAN_TIMEOUT):
        qtbot.keyClick(window.canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.page_view.has_page()
    assert cer(TRUTH.lower(), window.editor.toPlainText().lower()) < 0.15


def test_closing_the_window_during_a_scan_stops_the_thread(qtbot, make_window):
    window = make_window()
    started = []
    window.runner.progress.connect(lambda p: started.append(p))
    assert window.open_file(PAGE)
    qtbot.waitUntil(lambda: bool(started), timeout=SCAN_TIMEOUT)
    assert window.close()
    assert not window.is_scanning()  # cancelled and joined before the window went away


def test_a_page_shrunk_on_loading_keeps_its_boxes_on_the_ink(qtbot, window, monkeypatch):
    import numpy as np

    from scanner_app.core import image_io

    monkeypatch.setattr(image_io, "WORK_MAX_PIXELS", 200_000)  # pretend the page is a huge photo
    assert load_page(PAGE).scale < 1
    scan_and_wait(qtbot, window)
    view = window.page_view
    from PySide6.QtGui import QImage

    source = QImage(str(PAGE))
    assert view.sceneRect().width() == pytest.approx(source.width(), abs=1.5)
    assert view.sceneRect().height() == pytest.approx(source.height(), abs=1.5)
    grey = source.convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(grey.constBits(), np.uint8).reshape(grey.height(), grey.bytesPerLine())
    paper = float(np.median(pixels))
    for item in view.boxes:
        b = item.pred.box
        # Boxes are in the source file's pixels: each one holds ink there.
        assert pixels[b.y : b.y2, b.x : b.x2].min() < paper - 60


def test_user_opens_a_pdf(qtbot, window, tmp_path):
    from PIL import Image

    pdf = tmp_path / "page.pdf"
    Image.open(PAGE).convert("RGB").save(pdf, resolution=150)
    scan_and_wait(qtbot, window, pdf)
    assert window.page_view.has_page()
    assert cer(TRUTH.lower(), window.editor.toPlainText().lower()) < 0.15


def test_scanning_a_blank_page_says_no_text_was_found(qtbot, window, answers, tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (800, 600), 245).save(blank)
    scan_and_wait(qtbot, window, blank)
    assert answers.errors == [] and answers.crashes == []
    assert len(answers.infos) == 1 and answers.infos[0][0] == "No text found"
    assert window.editor.toPlainText() == ""
    assert window.page_view.has_page() and window.page_view.boxes == []


def test_pasting_a_page_file_into_the_text_scans_it_instead_of_pasting_its_path(qtbot, window):
    from PySide6.QtCore import QMimeData, QUrl

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(PAGE))])
    QApplication.clipboard().setMimeData(mime)
    window.editor.setFocus()
    with qtbot.waitSignal(window.runner.idle, timeout=SCAN_TIMEOUT):
        qtbot.keyClick(window.editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert "gui_page" not in window.editor.toPlainText()
    assert window.page_view.has_page()
    # Plain text still pastes as text.
    QApplication.clipboard().setText("plain words")
    qtbot.keyClick(window.editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.editor, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText().endswith("plain words")
    assert not window.is_scanning()


def test_open_with_a_file_scans_it_when_the_window_is_up(qtbot, settings, answers, classifier, scanned):
    """`handwriting-scanner page.png` (a desktop "Open with"): the window appears, then reads the page."""
    from scanner_app.gui.app import start_window

    window = start_window(PAGE, settings=settings, classifier=classifier)
    qtbot.addWidget(window)
    assert window.isVisible() and not window.is_scanning()  # the window shows before any work starts
    with qtbot.waitSignal(window.runner.idle, timeout=SCAN_TIMEOUT):
        qtbot.waitUntil(window.is_scanning, timeout=5_000)
    assert window.editor.toPlainText() == scanned.text and scanned.text.strip()
    assert window.tabs.currentWidget() is window.scan_page
    assert settings.recent_files[0] == str(PAGE)
    window.editor.document().setModified(False)


def test_open_with_a_missing_file_says_so(qtbot, settings, answers, classifier, tmp_path):
    from scanner_app.gui.app import start_window

    window = start_window(tmp_path / "gone.png", settings=settings, classifier=classifier)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: bool(answers.errors), timeout=SCAN_TIMEOUT)
    assert "gone.png" in answers.errors[0][1]
    qtbot.waitUntil(lambda: not window.is_scanning(), timeout=SCAN_TIMEOUT)
    assert window.isVisible() and window.editor.toPlainText() == ""
