"""Multi-page TIFF and PDF files in the window: every page is read, one page is shown at a time with a page
navigator, the text holds all pages joined as the CLI joins them, and boxes stay linked to text on every page.

The files are built in the test from committed pages (tests/data): the GUI test page and two pages of the
page benchmark sample, all written by test writers.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QApplication

from scanner_app.core.errors import EmptyPageError, InputImageError
from scanner_app.core.image_io import iter_pages, load_page
from scanner_app.core.textio import PAGE_SEPARATOR
from scanner_app.gui import dialogs
from tests.conftest import damage_tiff_page
from tests.gui.conftest import DATA
from tests.gui.test_scan import SCAN_TIMEOUT, click_box, scan_and_wait
from tests.pagegen import cer

PAGES = [DATA / "gui_page.png", DATA / "pages" / "page00_clean.png", DATA / "pages" / "page01_clean.png"]
TRUTHS = [p.with_suffix(".txt").read_text(encoding="utf-8").strip() for p in PAGES]


def write_tiff(path: Path, pictures: list[Image.Image]) -> Path:
    """Write a multi-page TIFF (LZW, as scanners write them) of these pictures."""
    pictures[0].save(path, save_all=True, append_images=pictures[1:], compression="tiff_lzw")
    return path


def open_grey(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("L")


def pictures() -> list[Image.Image]:
    return [open_grey(p) for p in PAGES]


def blank_page(size=(1000, 600)) -> Image.Image:
    return Image.new("L", size, 245)


def cli_scan(path: Path, out: Path) -> bytes:
    """What ``handwriting-scanner scan PATH -o OUT`` writes (run in-process)."""
    from scanner_app.__main__ import main

    assert main(["scan", str(path), "-o", str(out)]) == 0
    return out.read_bytes()


def core_results(path: Path, classifier) -> list:
    """The core's reading of every page of ``path`` (what the window must show)."""
    from scanner_app.core.pipeline import ScanConfig, run_scan

    return [run_scan(page, classifier, ScanConfig()) for page in iter_pages(path)]


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> Path:
    """A three-page TIFF of three different handwritten pages."""
    return write_tiff(tmp_path_factory.mktemp("multipage") / "three pages.tif", pictures())


@pytest.fixture(scope="module")
def expected(document, classifier) -> list:
    return core_results(document, classifier)


def linked(editor, page: int, count: int) -> list[int]:
    """Indexes (on ``page``) of that page's characters that are linked to the text."""
    return [i for i in range(count) if editor.position_of(editor.document_index(page, i)) is not None]


def test_user_opens_a_three_page_tiff_and_every_page_is_read_and_saved_as_the_cli_writes_it(
    qtbot, window, answers, document, expected, tmp_path
):
    formats, values = [], []
    window.runner.progress.connect(lambda p: (formats.append(window.progress.format()), values.append(p)))
    scan_and_wait(qtbot, window, document)
    assert answers.errors == [] and answers.crashes == [] and answers.infos == []
    text = window.editor.toPlainText()
    # All three pages, in order, joined as the CLI joins them, each one what the core reads on that page.
    assert text == PAGE_SEPARATOR.join(r.text for r in expected)
    parts = text.split(PAGE_SEPARATOR)
    assert len(parts) == 3
    for part, truth in zip(parts, TRUTHS, strict=True):
        assert part.strip() and cer(truth.lower(), part.lower()) < 0.25, (truth, part)
    # One progress bar over the whole file: it names the page, and never goes back.
    assert any(f.startswith("Page 1 of 3: ") for f in formats)
    assert any(f.startswith("Page 2 of 3: ") for f in formats)
    assert any(f.startswith("Page 3 of 3: ") for f in formats)
    fractions = [p.fraction for p in values]
    assert fractions == sorted(fractions) and window.progress.value() == window.progress.maximum()
    # The first page is shown, with its boxes; the navigator is there.
    assert window.page_nav.isVisible() and window.page_label.text() == "Page 1 of 3"
    assert [b.pred for b in window.page_view.boxes] == [c for c in expected[0].chars if c.box is not None]
    assert str(document.resolve()) in window.settings.recent_files
    assert f"from 3 pages of {document.name}" in window.statusBar().currentMessage()
    # Only the page in use is kept as raw pixels; the others are compressed, losslessly.
    assert [p.pixels is None for p in window.pages] == [True, True, False]
    assert np.array_equal(window.pages[0].image(), load_page(PAGES[0]).pixels)
    # Saving writes exactly the file the command line writes for the same TIFF, in UTF-8.
    assert window.editor.document().isModified() and window.windowTitle().startswith("three pages")
    answers.save_path = str(tmp_path / "gui.txt")
    assert window.save()
    saved = (tmp_path / "gui.txt").read_bytes()
    assert saved == cli_scan(document, tmp_path / "cli.txt")
    assert saved.decode("utf-8").count("\f") == 2


def test_user_turns_the_pages_and_sees_each_pages_boxes(qtbot, window, document, expected):
    scan_and_wait(qtbot, window, document)
    view = window.page_view
    sizes = [p.size for p in pictures()]

    def assert_shows(page: int) -> None:
        assert window.page_number == page
        assert window.page_label.text() == f"Page {page + 1} of 3"
        assert view.has_page()
        assert view.sceneRect().width() == pytest.approx(sizes[page][0], abs=1.5)
        assert view.sceneRect().height() == pytest.approx(sizes[page][1], abs=1.5)
        assert [b.pred for b in view.boxes] == [c for c in expected[page].chars if c.box is not None]
        assert all(view.sceneRect().contains(b.sceneBoundingRect()) for b in view.boxes)

    assert_shows(0)
    assert not window.prev_page_button.isEnabled() and not window.prev_page_action.isEnabled()
    qtbot.mouseClick(window.next_page_button, Qt.MouseButton.LeftButton)
    assert_shows(1)
    # Keyboard, with the page view focused: Ctrl+Page Down, and Page Down when the whole page is in view.
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert_shows(2)
    assert not window.next_page_button.isEnabled() and not window.next_page_action.isEnabled()
    qtbot.keyClick(view, Qt.Key.Key_PageDown)  # the last page: nothing further
    assert_shows(2)
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert_shows(1)
    qtbot.keyClick(view, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier)
    assert_shows(0)
    # Zoomed in, Page Down scrolls within the page first, as in a document viewer.
    window.zoom_in_action.trigger()
    window.zoom_in_action.trigger()
    window.zoom_in_action.trigger()
    bar = view.verticalScrollBar()
    bar.setValue(bar.minimum())
    assert bar.maximum() > bar.minimum()
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    assert window.page_number == 0 and bar.value() > bar.minimum()
    # The menu actions (Scan > Next page / Previous page) work from anywhere, even the Draw tab.
    window.draw_mode_action.trigger()
    window.next_page_action.trigger()
    assert window.tabs.currentWidget() is window.scan_page
    assert_shows(1)
    window.prev_page_action.trigger()
    assert_shows(0)


def test_boxes_and_text_stay_linked_on_every_page_through_edits(qtbot, window, document, expected):
    scan_and_wait(qtbot, window, document)
    editor, view = window.editor, window.page_view
    starts = [0]
    for r in expected[:-1]:
        starts.append(starts[-1] + len(r.text) + len(PAGE_SEPARATOR))
    # A click on a box of page 2 selects that character in page 2's part of the text.
    window.next_page_action.trigger()
    ids = linked(editor, 1, len(expected[1].chars))
    local = ids[len(ids) // 2]
    click_box(qtbot, view, local)
    cursor = editor.textCursor()
    assert cursor.selectedText() == expected[1].chars[local].char
    assert starts[1] <= cursor.selectionStart() < starts[1] + len(expected[1].text)
    assert editor.toPlainText()[cursor.selectionStart()] == expected[1].chars[local].char
    assert window.page_number == 1 and view.selected_index() == local
    # Moving the text cursor onto a character of page 3 shows page 3 with that box highlighted.
    third = linked(editor, 2, len(expected[2].chars))[3]
    cursor.setPosition(editor.position_of(editor.document_index(2, third)))
    editor.setTextCursor(cursor)
    assert window.page_number == 2 and window.page_label.text() == "Page 3 of 3"
    assert view.selected_index() == third
    # Anywhere in a page's text counts, also where no character is (a space or a line end of page 2).
    gap = next(i for i in range(starts[1], starts[2]) if editor.toPlainText()[i] in " \n")
    cursor.setPosition(gap)
    editor.setTextCursor(cursor)
    assert window.page_number == 1
    # The user types before everything and deletes a character of page 3: the others stay linked.
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, "Notes")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert window.page_number == 0
    gone = linked(editor, 2, len(expected[2].chars))[0]
    cursor.setPosition(editor.position_of(editor.document_index(2, gone)))
    editor.setTextCursor(cursor)
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    assert window.page_number == 2
    click_box(qtbot, view, gone)
    assert "no longer linked" in window.statusBar().currentMessage()
    last = linked(editor, 2, len(expected[2].chars))[-1]
    click_box(qtbot, view, last)
    assert editor.textCursor().selectedText() == expected[2].chars[last].char
    assert editor.toPlainText().startswith("Notes\n")
    # Turning the page scrolls the text to that page's part, without moving the user's cursor.
    editor.setFixedHeight(4 * editor.fontMetrics().lineSpacing())  # too small for all pages at once
    QApplication.processEvents()
    cursor.setPosition(0)
    editor.setTextCursor(cursor)
    assert window.page_number == 0
    start = QTextCursor(editor.document())
    start.setPosition(len("Notes\n") + starts[2])
    assert not editor.viewport().rect().contains(editor.cursorRect(start).center())
    window.next_page_action.trigger()
    window.next_page_action.trigger()
    assert window.page_number == 2 and editor.textCursor().position() == 0
    assert editor.viewport().rect().contains(editor.cursorRect(start).center())


class PageGate:
    """The real model, except that classifying stops after ``open_calls`` calls until the test opens the gate.

    Injected on purpose, so the test is certainly in the middle of page 2 when it presses Cancel."""

    def __init__(self, real, open_calls: int):
        self.real = real
        self.open_calls = open_calls
        self.calls = 0
        self.reached = threading.Event()
        self.gate = threading.Event()

    def __getattr__(self, name):
        return getattr(self.real, name)

    def predict_proba(self, crops):
        self.calls += 1
        if self.calls > self.open_calls:
            self.reached.set()
            self.gate.wait(30)
        return self.real.predict_proba(crops)


def classify_calls(page, classifier) -> int:
    """How many times the core calls the model to read ``page``."""
    from scanner_app.core.pipeline import ScanConfig, run_scan

    counter = PageGate(classifier, open_calls=10**9)
    run_scan(page, counter, ScanConfig())
    return counter.calls


def test_cancel_in_the_middle_of_page_2_keeps_the_previous_text_and_page(
    qtbot, make_window, classifier, document
):
    gated = PageGate(classifier, open_calls=classify_calls(load_page(PAGES[0]), classifier))
    window = make_window(classifier=gated)
    window.editor.set_text("my earlier text")
    formats, outcomes = [], []
    window.runner.progress.connect(lambda p: formats.append(window.progress.format()))
    window.runner.finished.connect(lambda r: outcomes.append("finished"))
    window.runner.cancelled.connect(lambda: outcomes.append("cancelled"))
    with qtbot.waitSignal(window.runner.idle, timeout=SCAN_TIMEOUT):
        assert window.open_file(document)
        qtbot.waitUntil(gated.reached.is_set, timeout=SCAN_TIMEOUT)  # page 1 done, page 2 being read
        qtbot.waitUntil(lambda: any(f.startswith("Page 2 of 3") for f in formats), timeout=5000)
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
        gated.gate.set()
    assert outcomes == ["cancelled"]
    assert window.editor.toPlainText() == "my earlier text"
    assert window.pages == [] and not window.page_view.has_page() and not window.page_nav.isVisible()
    assert "cancelled" in window.statusBar().currentMessage()


def test_a_blank_page_among_written_ones_keeps_their_text(qtbot, window, answers, classifier, tmp_path):
    pics = pictures()
    path = write_tiff(tmp_path / "with blank.tif", [pics[0], blank_page(), pics[2]])
    expected = core_results(path, classifier)
    scan_and_wait(qtbot, window, path)
    assert answers.errors == [] and answers.crashes == [] and answers.infos == []
    parts = window.editor.toPlainText().split(PAGE_SEPARATOR)
    assert parts == [expected[0].text, "", expected[2].text] and parts[0] and parts[2]
    assert "Nothing found on page 2." in window.statusBar().currentMessage()
    window.next_page_action.trigger()
    assert window.page_label.text() == "Page 2 of 3 — nothing found"
    assert window.page_view.has_page() and window.page_view.boxes == []


def test_an_empty_last_page_is_saved_as_the_cli_writes_it(qtbot, window, answers, tmp_path):
    path = write_tiff(tmp_path / "blank last.tif", [pictures()[0], blank_page()])
    scan_and_wait(qtbot, window, path)
    assert window.editor.toPlainText().endswith(PAGE_SEPARATOR)
    answers.save_path = str(tmp_path / "gui.txt")
    assert window.save()
    assert (tmp_path / "gui.txt").read_bytes() == cli_scan(path, tmp_path / "cli.txt")


def test_no_text_found_only_when_no_page_has_text(qtbot, window, answers, tmp_path):
    path = write_tiff(tmp_path / "blank.tif", [blank_page(), blank_page((800, 500))])
    scan_and_wait(qtbot, window, path)
    assert answers.errors == []
    assert len(answers.infos) == 1 and answers.infos[0][0] == "No text found"
    assert "any of the 2 pages" in answers.infos[0][1]
    assert window.editor.toPlainText() == PAGE_SEPARATOR
    assert not window.editor.document().isModified()  # nothing to lose


def test_a_damaged_page_keeps_the_pages_around_it(qtbot, window, answers, classifier, tmp_path):
    path = write_tiff(tmp_path / "damaged.tif", pictures())
    first, _, third = core_results(path, classifier)
    damage_tiff_page(path, 1)
    scan_and_wait(qtbot, window, path)
    assert answers.errors == [] and answers.crashes == []
    parts = window.editor.toPlainText().split(PAGE_SEPARATOR)
    assert parts == [first.text, "", third.text] and first.text and third.text
    message = window.statusBar().currentMessage()
    assert "Page 2 could not be read" in message and "damaged" in message and "more" not in message
    window.next_page_action.trigger()
    assert window.page_label.text() == "Page 2 of 3 — could not be read"
    assert not window.page_view.has_page() and window.page_view.boxes == []
    window.next_page_action.trigger()
    assert window.page_label.text() == "Page 3 of 3"
    assert window.page_view.has_page() and len(window.page_view.boxes) == len(third.chars)
    window.go_to_page(0)
    assert window.page_view.has_page() and len(window.page_view.boxes) == len(first.chars)
    # the saved text is what the command line writes for the same file
    window.current_path = None
    answers.save_path = str(tmp_path / "gui.txt")
    assert window.save()
    from scanner_app.__main__ import main

    assert main(["scan", str(path), "-o", str(tmp_path / "cli.txt")]) == InputImageError.exit_code
    assert (tmp_path / "gui.txt").read_bytes() == (tmp_path / "cli.txt").read_bytes()


def failing_scan(fail_pages: set[int]):
    """Fault injected on purpose: the real scan, except that it raises EmptyPageError on these pages."""
    from scanner_app.core import pipeline

    real = pipeline.scan

    def scan(page, classifier, config=pipeline.ScanConfig()):  # noqa: B008
        if page.page_index in fail_pages:
            raise EmptyPageError(f"Simulated: page {page.page_index + 1} holds no handwriting.")
        return (yield from real(page, classifier, config))

    return scan


def test_a_page_whose_scan_fails_does_not_lose_the_others(
    qtbot, window, answers, document, expected, monkeypatch
):
    from scanner_app.core import pipeline

    monkeypatch.setattr(pipeline, "scan", failing_scan({1}))
    scan_and_wait(qtbot, window, document)
    assert answers.errors == [] and answers.crashes == []
    parts = window.editor.toPlainText().split(PAGE_SEPARATOR)
    assert parts == [expected[0].text, "", expected[2].text]
    assert "Page 2 could not be read: Simulated: page 2 holds no handwriting." in (
        window.statusBar().currentMessage()
    )
    window.next_page_action.trigger()
    # The page itself was read: it is shown, without boxes.
    assert window.page_label.text() == "Page 2 of 3 — could not be read"
    assert window.page_view.has_page() and window.page_view.boxes == []


def test_when_every_page_fails_it_is_an_error(qtbot, window, answers, document, monkeypatch):
    from scanner_app.core import pipeline

    monkeypatch.setattr(pipeline, "scan", failing_scan({0, 1, 2}))
    window.editor.set_text("kept")
    scan_and_wait(qtbot, window, document)
    assert answers.errors == [("Could not scan the page", "Simulated: page 1 holds no handwriting.")]
    assert window.editor.toPlainText() == "kept" and window.pages == []


def test_user_opens_a_three_page_pdf(qtbot, window, classifier, tmp_path):
    pics = [p.convert("RGB") for p in pictures()]
    pdf = tmp_path / "scan.pdf"
    pics[0].save(pdf, save_all=True, append_images=pics[1:], resolution=150)
    expected = core_results(pdf, classifier)
    assert len(expected) == 3
    scan_and_wait(qtbot, window, pdf)
    parts = window.editor.toPlainText().split(PAGE_SEPARATOR)
    assert parts == [r.text for r in expected]
    for part, truth in zip(parts, TRUTHS, strict=True):
        assert cer(truth.lower(), part.lower()) < 0.25, (truth, part)
    window.next_page_action.trigger()
    window.next_page_action.trigger()
    assert window.page_label.text() == "Page 3 of 3"
    assert len(window.page_view.boxes) == len([c for c in expected[2].chars if c.box is not None])


def test_a_single_page_after_a_document_hides_the_navigator(qtbot, window, answers, document):
    from PySide6.QtGui import QImage

    scan_and_wait(qtbot, window, document)
    assert window.page_nav.isVisible()
    # The unread text of three pages is not thrown away without asking.
    answers.unsaved_answer = dialogs.DISCARD
    QApplication.clipboard().setImage(QImage(str(PAGES[0])))
    with qtbot.waitSignal(window.runner.idle, timeout=SCAN_TIMEOUT):
        window.paste_action.trigger()
    assert answers.unsaved_prompts == 1
    assert not window.page_nav.isVisible() and len(window.pages) == 1
    assert PAGE_SEPARATOR not in window.editor.toPlainText()
    assert not window.next_page_action.isEnabled()
    scan_and_wait(qtbot, window, document)
    scan_and_wait(qtbot, window, PAGES[1])
    assert not window.page_nav.isVisible() and window.page_number == 0


@pytest.mark.parametrize("path", [PAGES[0], DATA / "heic" / "sample_page.heic"], ids=["png", "heic"])
def test_a_single_page_file_reads_as_before_without_page_numbers(qtbot, window, answers, path):
    # (The HEIC's page count cannot be told from its header here: the progress still names no page.)
    formats = []
    window.runner.progress.connect(lambda p: formats.append(window.progress.format()))
    scan_and_wait(qtbot, window, path)
    assert formats and not any(f.startswith("Page") for f in formats)
    assert "Loading the page…" in formats
    assert len(window.pages) == 1 and not window.page_nav.isVisible()
    assert PAGE_SEPARATOR not in window.editor.toPlainText()
