"""The main window: draw a character (Draw tab) or scan a page (Scan tab); the text editor is shared.

A multi-page TIFF or PDF is read page by page in the worker; the page view shows one page at a time
(with a page navigator) and the editor holds all pages' texts joined by ``PAGE_SEPARATOR``, as the CLI writes.

``MainWindow()`` builds everything with the bundled model; tests and tools may inject
``classifier=``, ``settings=`` (an ``AppSettings`` on an isolated ``QSettings``) or ``model_dir=``.
The model is loaded just after the window first shows (or on first use), so the window appears fast;
if it cannot be loaded the window still works as an editor and says what is wrong.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from scanner_app.core.errors import CancelledError, InputImageError, ScannerError
from scanner_app.core.textio import PAGE_SEPARATOR
from scanner_app.core.types import PageImage, Progress, ScanResult
from scanner_app.gui import dialogs
from scanner_app.gui.canvas import DrawingCanvas
from scanner_app.gui.page_view import PageView
from scanner_app.gui.result_editor import ResultEditor
from scanner_app.gui.settings import AppSettings
from scanner_app.gui.worker import JobRunner
from scanner_app.paths import resource_path

APP_NAME = "Handwriting Scanner"
CHARSET_CHOICES = (("&Letters", "letters"), ("D&igits", "digits"), ("&Both", "alnum"))
STAGE_NAMES = {
    "load": "Loading the page",
    "prepare": "Cleaning up the page",
    "layout": "Finding lines and characters",
    "crops": "Cutting out characters",
    "classify": "Reading characters",
    "decode": "Building the text",
}


PROGRESS_STEPS = 1000  # PageProgress counts in thousandths of the whole document


@dataclass(frozen=True)
class PageProgress(Progress):
    """Progress through a file: ``done`` of ``total`` for all pages, now on ``page`` (0-based) of ``pages``.

    ``pages`` is 0 when the number of pages is not known in advance.
    """

    page: int = 0
    pages: int = 1


@dataclass
class DocumentPage:
    """One page of a scanned file: its picture, its reading, and why it has no text if it failed.

    The picture of every page but the newest is kept PNG-compressed (``png``; measured: a 200 DPI A4 scan
    3.9 MB -> about 60 kB, a phone photo about 2.5 times smaller); ``image()`` decodes it for the page view.
    """

    result: ScanResult
    pixels: np.ndarray | None = None
    png: bytes | None = None
    scale: float = 1.0  # PageImage.scale: the page was shrunk on loading by this factor
    problem: str | None = None  # set when the page could not be read or scanned (its text is empty)

    @classmethod
    def failed(cls, problem: str, source: str) -> DocumentPage:
        """Return a page that could not be read: no picture, an empty text, and why."""
        return cls(ScanResult.unread(problem, source), problem=problem)

    def image(self) -> np.ndarray | None:
        """Return the page as uint8 grey pixels, or None for a page that could not be read."""
        if self.pixels is not None:
            return self.pixels
        if self.png is None:
            return None
        import cv2

        return cv2.imdecode(np.frombuffer(self.png, np.uint8), cv2.IMREAD_GRAYSCALE)

    def compress(self) -> None:
        """Keep the picture as PNG bytes (lossless; the fast setting: about 20 ms for an A4 page)."""
        if self.pixels is None:
            return
        import cv2

        ok, data = cv2.imencode(".png", self.pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if ok:
            self.png, self.pixels = data.tobytes(), None


def _page_progress(stage: str, page: int, pages: int, fraction: float) -> PageProgress:
    """Return ``fraction`` (0..1) of ``page`` as progress through the whole file, when its length is known."""
    overall = min(1.0, (page + fraction) / pages) if pages > 0 else fraction
    return PageProgress(stage, int(round(overall * PROGRESS_STEPS)), PROGRESS_STEPS, page, pages)


def _page_steps(steps, page: int, pages: int):
    """Re-yield one page's scan progress within the file, loading counted as the page's first step."""
    while True:
        try:
            step = next(steps)
        except StopIteration as stop:
            return stop.value
        try:
            yield _page_progress(step.stage, page, pages, (step.done + 1) / (step.total + 1))
        except GeneratorExit:
            steps.close()
            raise


def scan_file_job(path: str, classifier: Any, config: Any):
    """Load and scan every page of an image, TIFF or PDF; yields PageProgress, returns ``list[DocumentPage]``.

    Pages are loaded one at a time (``iter_pages``). A page that cannot be loaded or scanned keeps an empty
    text and says why, and the other pages are still read (only a broken page directory ends the file early:
    the pages after it say so). Only when every page fails is it an error: the first page's, as for a single
    page.
    """
    from scanner_app.core.image_io import count_pages, iter_pages
    from scanner_app.core.pipeline import scan

    pages = count_pages(path)
    document: list[DocumentPage] = []
    errors: list[ScannerError] = []
    source = iter_pages(path, page_errors="yield")
    try:
        while True:
            index = len(document)
            if index < pages or index == 0:  # not at the end ("Page 4 of 3"), which may be unknown
                yield _page_progress("load", index, pages, 0.0)
            try:
                page = next(source)
            except StopIteration:
                break
            except InputImageError as error:
                if not document:
                    raise
                errors.append(error)
                document.append(DocumentPage.failed(str(error), str(path)))
                unreached = "The file cannot be read past the damaged page before it."
                for _ in range(len(document), pages):
                    document.append(DocumentPage.failed(unreached, str(path)))
                break
            if isinstance(page, InputImageError):  # a damaged page: the next one is still read
                errors.append(page)
                document.append(DocumentPage.failed(str(page), str(path)))
                continue
            if document:
                document[-1].compress()  # only the newest page stays uncompressed
            problem = None
            try:
                result = yield from _page_steps(scan(page, classifier, config), index, pages)
            except CancelledError:
                raise
            except ScannerError as error:
                errors.append(error)
                problem = str(error)
                result = ScanResult.unread(problem, page.source, page.original_size)
            document.append(DocumentPage(result, page.pixels, scale=page.scale, problem=problem))
    finally:
        source.close()
    if not document:
        raise InputImageError(f"{path}: the file holds no image.")
    if errors and all(p.problem for p in document):
        raise errors[0]
    return document


def scan_page_job(page: PageImage, classifier: Any, config: Any):
    """Scan a page already in memory (pasted); yields Progress, returns ``[DocumentPage]``."""
    from scanner_app.core.pipeline import scan

    result = yield from scan(page, classifier, config)
    return [DocumentPage(result, page.pixels, scale=page.scale)]


def qimage_to_page(image: QImage, source: str = "clipboard") -> PageImage:
    """Convert any QImage (a pasted picture) to a grey ``PageImage``, flattening transparency onto white."""
    flat = QImage(image.size(), QImage.Format.Format_RGB32)
    flat.fill(Qt.GlobalColor.white)
    painter = QPainter(flat)
    painter.drawImage(0, 0, image)
    painter.end()
    grey = flat.convertToFormat(QImage.Format.Format_Grayscale8)
    w, h = grey.width(), grey.height()
    bits = np.frombuffer(grey.constBits(), np.uint8).reshape(h, grey.bytesPerLine())[:, :w].copy()
    return PageImage(bits, source=source)


class ProbabilityBars(QWidget):
    """Three bars, one per guess, drawn level with the lines of the prediction label beside them."""

    def __init__(self, line_height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probabilityBars")
        self.guesses: list[tuple[str, float]] = []
        self.line_height = line_height
        self.setFixedHeight(3 * line_height)
        self.setMinimumWidth(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_guesses(self, guesses: list[tuple[str, float]]) -> None:
        """Show these ``(char, probability)`` pairs, best first."""
        self.guesses = list(guesses)
        self.setAccessibleDescription(", ".join(f"{c} {p:.0%}" for c, p in self.guesses))
        self.update()

    def sizeHint(self) -> QSize:  # noqa: D102
        return QSize(120, 3 * self.line_height)

    def paintEvent(self, event) -> None:  # noqa: D102
        painter = QPainter(self)
        pal = self.palette()
        lh = self.line_height
        for i in range(3):
            y, h = int(i * lh + 0.25 * lh), max(2, int(0.5 * lh))
            painter.fillRect(0, y, self.width(), h, pal.color(QPalette.ColorRole.AlternateBase))
            if i < len(self.guesses):
                role = QPalette.ColorRole.Highlight if i == 0 else QPalette.ColorRole.Mid
                width = int(round(self.width() * self.guesses[i][1]))
                painter.fillRect(0, y, width, h, pal.color(role))
        painter.end()


class MainWindow(QMainWindow):
    """The whole app window."""

    def __init__(
        self,
        classifier: Any = None,
        settings: AppSettings | None = None,
        model_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.settings = settings if settings is not None else AppSettings()
        self._classifier = classifier
        self._model_dir = model_dir
        self.model_error: str | None = None
        self.current_path: Path | None = None  # where the text was last saved
        self.document_name = "Untitled"
        self.last_result: ScanResult | None = None  # the reading of the page shown
        self.pages: list[DocumentPage] = []  # every page of the last scanned file
        self.page_number = 0  # the page shown (0-based)
        self.current_guesses: list[tuple[str, float]] = []
        self.runner = JobRunner(self)

        icon_file = resource_path("icons", "app.png")
        if icon_file.is_file():
            self.setWindowIcon(QIcon(str(icon_file)))
        self._build_actions()
        self._build_ui()
        self._build_menus()
        self._connect()
        self._restore_settings()
        self.setAcceptDrops(True)
        self._update_title()
        self._set_busy(False)
        self._update_navigator()
        # Without an injected model, it is loaded right after the window's first paint (see paintEvent),
        # so the window appears before the ONNX runtime is imported; first use also loads it.
        self._model_requested = classifier is not None
        if classifier is not None:
            self._apply_model_state()

    # -- building ------------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "", context=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        if context is not None:
            action.setShortcutContext(context)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        std = QKeySequence.StandardKey
        draw_only = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.open_action = self._action(
            "&Open…", self.open_file_dialog, std.Open, "Open an image or PDF to scan"
        )
        self.paste_action = self._action(
            "&Paste image", self.paste, std.Paste, "Scan an image from the clipboard"
        )
        self.save_action = self._action("&Save", self.save, std.Save, "Save the text as a UTF-8 .txt file")
        self.save_as_action = self._action(
            "Save &As…", self.save_as, std.SaveAs, "Save the text under a new name"
        )
        self.new_action = self._action("&New text", self.new_text, std.New, "Start a new, empty text")
        self.quit_action = self._action("&Quit", self.close, std.Quit, "Close the window")
        self.copy_all_action = self._action("Copy &All", self.copy_all, "Ctrl+Shift+C", "Copy the whole text")
        self.cancel_action = self._action("&Cancel scan", self.cancel_scan, None, "Stop the running scan")
        self.fit_action = self._action(
            "&Fit page", lambda: self.page_view.fit(), "Ctrl+0", "Show the whole page"
        )
        self.zoom_in_action = self._action("Zoom &in", lambda: self.page_view.zoom_by(1.25), std.ZoomIn)
        self.zoom_out_action = self._action("Zoom o&ut", lambda: self.page_view.zoom_by(0.8), std.ZoomOut)
        self.prev_page_action = self._action(
            "&Previous page",
            lambda: self.go_to_page(self.page_number - 1),
            "Ctrl+PgUp",
            "Show the previous page of the document",
        )
        self.next_page_action = self._action(
            "&Next page",
            lambda: self.go_to_page(self.page_number + 1),
            "Ctrl+PgDown",
            "Show the next page of the document",
        )
        self.about_action = self._action("&About Handwriting Scanner", self.show_about)
        # Drawing keys act only while the focus is in the Draw tab (the editor keeps its own Enter/Ctrl+Z).
        self.clear_action = self._action(
            "C&lear", self.clear_canvas, Qt.Key.Key_Escape, "Clear the canvas", draw_only
        )
        self.undo_stroke_action = self._action(
            "&Undo stroke", self.undo_stroke, std.Undo, "Remove the last stroke", draw_only
        )
        self.accept_action = self._action(
            "&Add to text",
            self.accept_prediction,
            Qt.Key.Key_Return,
            "Add the predicted character to the text",
            draw_only,
        )
        self.accept_action.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
        self.accept_other_case_action = self._action(
            "Add in the other &case",
            lambda: self.accept_prediction(other_case=True),
            "Shift+Return",
            "Add the predicted letter as a capital if it shows a small letter, and the other way round",
            draw_only,
        )
        self.space_action = self._action(
            "Add s&pace", lambda: self.editor.append_char(" "), None, "Add a space"
        )
        self.draw_mode_action = self._action(
            "Go to &drawing", lambda: self._show_mode(self.draw_page), "Ctrl+1", "Draw one character"
        )
        self.scan_mode_action = self._action(
            "Go to &scanning", lambda: self._show_mode(self.scan_page), "Ctrl+2", "Scan a page"
        )

    def _build_ui(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("modeTabs")
        self.tabs.setDocumentMode(True)

        # Draw tab
        self.draw_page = QWidget()
        self.canvas = DrawingCanvas()
        self.prediction_label = QLabel("—")
        self.prediction_label.setObjectName("predictionLabel")
        self.prediction_label.setAccessibleName("Prediction")
        font = self.prediction_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.prediction_label.setFont(font)
        self.prediction_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.prediction_label.setMinimumWidth(
            self.prediction_label.fontMetrics().horizontalAdvance("W  100%")
        )
        self.prediction_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.prediction_label.setContentsMargins(0, 0, 0, 0)
        line = self.prediction_label.fontMetrics().lineSpacing()
        self.prediction_label.setMinimumHeight(3 * line)  # the layout must not jump when guesses appear
        self.bars = ProbabilityBars(line)
        guesses_row = QHBoxLayout()
        guesses_row.addWidget(self.prediction_label, 0, Qt.AlignmentFlag.AlignTop)
        guesses_row.addWidget(self.bars, 1, Qt.AlignmentFlag.AlignTop)
        self.charset_box = QGroupBox("Characters")
        charset_layout = QVBoxLayout(self.charset_box)
        self.charset_group = QButtonGroup(self)
        self.charset_buttons: dict[str, QRadioButton] = {}
        for label, value in CHARSET_CHOICES:
            button = QRadioButton(label)
            button.setObjectName(f"charset_{value}")
            self.charset_group.addButton(button)
            self.charset_buttons[value] = button
            charset_layout.addWidget(button)
        self.clear_button = QPushButton("Clea&r (Esc)")
        self.clear_button.setObjectName("clearButton")
        self.undo_button = QPushButton("&Undo stroke")
        self.undo_button.setObjectName("undoStrokeButton")
        self.accept_button = QPushButton("&Add to text (Enter)")
        self.accept_button.setObjectName("acceptButton")
        self.space_button = QPushButton("Add s&pace")
        self.space_button.setObjectName("spaceButton")
        side = QVBoxLayout()
        side.addWidget(QLabel("Best guesses:"))
        side.addLayout(guesses_row)
        side.addWidget(self.charset_box)
        side.addWidget(self.accept_button)
        side.addWidget(self.space_button)
        side.addWidget(self.undo_button)
        side.addWidget(self.clear_button)
        side.addStretch(1)
        draw_layout = QHBoxLayout(self.draw_page)
        draw_layout.addWidget(self.canvas, 3)
        draw_layout.addLayout(side, 1)
        for action in (
            self.clear_action,
            self.undo_stroke_action,
            self.accept_action,
            self.accept_other_case_action,
        ):
            self.draw_page.addAction(action)
        self.tabs.addTab(self.draw_page, "Draw")
        self.tabs.setTabToolTip(0, "Draw one character (Ctrl+1)")

        # Scan tab
        self.scan_page = QWidget()
        self.page_view = PageView()
        self.open_button = QPushButton("&Open page…")
        self.open_button.setObjectName("openButton")
        self.fit_button = QPushButton("Fi&t page")
        self.dictionary_check = QCheckBox("Use &word list")
        self.dictionary_check.setObjectName("dictionaryCheck")
        self.dictionary_check.setToolTip("Correct unlikely words with an English word list")
        self.progress = QProgressBar()
        self.progress.setObjectName("scanProgress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setAccessibleName("Scan progress")
        self.cancel_button = QPushButton("Ca&ncel")
        self.cancel_button.setObjectName("cancelScanButton")
        bar = QHBoxLayout()
        bar.addWidget(self.open_button)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.dictionary_check)
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel_button)
        # The page navigator: only for files of several pages.
        self.page_nav = QWidget()
        self.page_nav.setObjectName("pageNavigator")
        self.prev_page_button = QPushButton("◀ Previous")
        self.prev_page_button.setObjectName("previousPageButton")
        self.prev_page_button.setToolTip("Previous page (Ctrl+PgUp)")
        self.next_page_button = QPushButton("Next ▶")
        self.next_page_button.setObjectName("nextPageButton")
        self.next_page_button.setToolTip("Next page (Ctrl+PgDown)")
        self.page_label = QLabel()
        self.page_label.setObjectName("pageLabel")
        self.page_label.setAccessibleName("Page shown")
        self.page_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        nav = QHBoxLayout(self.page_nav)
        nav.setContentsMargins(0, 0, 0, 0)
        nav.addStretch(1)
        nav.addWidget(self.prev_page_button)
        nav.addWidget(self.page_label)
        nav.addWidget(self.next_page_button)
        nav.addStretch(1)
        self.page_nav.hide()
        scan_layout = QVBoxLayout(self.scan_page)
        scan_layout.addLayout(bar)
        scan_layout.addWidget(self.page_view, 1)
        scan_layout.addWidget(self.page_nav)
        self.tabs.addTab(self.scan_page, "Scan")
        self.tabs.setTabToolTip(1, "Scan a page (Ctrl+2)")

        # Text panel, shared by both modes
        self.editor = ResultEditor()
        text_label = QLabel("Te&xt")
        text_label.setBuddy(self.editor)
        self.copy_button = QPushButton("&Copy all")
        self.copy_button.setObjectName("copyAllButton")
        self.save_button = QPushButton("Sa&ve")
        self.save_button.setObjectName("saveButton")
        text_buttons = QHBoxLayout()
        text_buttons.addWidget(text_label)
        text_buttons.addStretch(1)
        text_buttons.addWidget(self.copy_button)
        text_buttons.addWidget(self.save_button)
        text_panel = QWidget()
        text_layout = QVBoxLayout(text_panel)
        text_layout.addLayout(text_buttons)
        text_layout.addWidget(self.editor, 1)
        self.legend = QLabel(
            "<span style='color:#008c46'>■</span> sure &nbsp;"
            "<span style='color:#e68c00'>■</span> unsure &nbsp;"
            "<span style='color:#d71e28'>■</span> doubtful<br>"
            "Right-click a marked character for alternatives."
        )
        self.legend.setWordWrap(True)
        text_layout.addWidget(self.legend)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.tabs)
        self.splitter.addWidget(text_panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.setCentralWidget(self.splitter)
        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)

        # Keyboard order: canvas, guesses, charset, buttons, then the text.
        QWidget.setTabOrder(self.canvas, self.charset_buttons["letters"])
        QWidget.setTabOrder(self.charset_buttons["letters"], self.accept_button)
        QWidget.setTabOrder(self.accept_button, self.space_button)
        QWidget.setTabOrder(self.space_button, self.undo_button)
        QWidget.setTabOrder(self.undo_button, self.clear_button)
        QWidget.setTabOrder(self.open_button, self.fit_button)
        QWidget.setTabOrder(self.fit_button, self.dictionary_check)
        QWidget.setTabOrder(self.dictionary_check, self.cancel_button)
        QWidget.setTabOrder(self.cancel_button, self.page_view)
        QWidget.setTabOrder(self.page_view, self.prev_page_button)
        QWidget.setTabOrder(self.prev_page_button, self.next_page_button)
        QWidget.setTabOrder(self.next_page_button, self.editor)
        self.resize(1100, 680)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.new_action)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.paste_action)
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu("&Edit")
        edit_menu.addAction(self.copy_all_action)
        draw_menu = menu.addMenu("&Draw")
        draw_menu.addAction(self.draw_mode_action)
        draw_menu.addSeparator()
        for action in (
            self.accept_action,
            self.accept_other_case_action,
            self.space_action,
            self.undo_stroke_action,
            self.clear_action,
        ):
            draw_menu.addAction(action)
        scan_menu = menu.addMenu("&Scan")
        scan_menu.addAction(self.scan_mode_action)
        scan_menu.addSeparator()
        for action in (
            self.open_action,
            self.cancel_action,
            self.fit_action,
            self.zoom_in_action,
            self.zoom_out_action,
        ):
            scan_menu.addAction(action)
        scan_menu.addSeparator()
        scan_menu.addAction(self.prev_page_action)
        scan_menu.addAction(self.next_page_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)
        self._fill_recent_menu()

    def _connect(self) -> None:
        self.canvas.strokeFinished.connect(self.predict_now)
        self.canvas.cleared.connect(self.predict_now)
        self.clear_button.clicked.connect(self.clear_canvas)
        self.undo_button.clicked.connect(self.undo_stroke)
        self.accept_button.clicked.connect(lambda: self.accept_prediction())
        self.space_button.clicked.connect(self.space_action.trigger)
        self.charset_group.buttonToggled.connect(self._on_charset_toggled)
        self.dictionary_check.toggled.connect(self._on_dictionary_toggled)
        self.open_button.clicked.connect(self.open_file_dialog)
        self.fit_button.clicked.connect(self.page_view.fit)
        self.cancel_button.clicked.connect(self.cancel_scan)
        self.copy_button.clicked.connect(self.copy_all)
        self.save_button.clicked.connect(self.save)
        self.page_view.boxClicked.connect(self._on_box_clicked)
        self.page_view.pageRequested.connect(lambda step: self.go_to_page(self.page_number + step))
        self.prev_page_button.clicked.connect(self.prev_page_action.trigger)
        self.next_page_button.clicked.connect(self.next_page_action.trigger)
        self.editor.charActivated.connect(self._on_char_activated)
        self.editor.pageActivated.connect(self._on_page_activated)
        self.editor.pageOffered.connect(self._on_page_offered)
        self.editor.document().modificationChanged.connect(self.setWindowModified)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_scan_finished)
        self.runner.failed.connect(self._on_scan_failed)
        self.runner.cancelled.connect(self._on_scan_cancelled)
        self.runner.idle.connect(lambda: self._set_busy(False))

    def _restore_settings(self) -> None:
        geometry = self.settings.geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state
        if state is not None:
            self.splitter.restoreState(state)
        self.charset_buttons[self.settings.charset].setChecked(True)
        self.dictionary_check.setChecked(self.settings.dictionary)

    # -- model -----------------------------------------------------------------------------------
    @property
    def classifier(self) -> Any:
        """The character model, loaded on first use; None when it could not be loaded."""
        self.ensure_model()
        return self._classifier

    def ensure_model(self) -> bool:
        """Load the model if it is not loaded yet; True when it is available."""
        if self._classifier is None and self.model_error is None:
            try:
                from scanner_app.core.classifier import CharClassifier

                self._classifier = CharClassifier.load(self._model_dir)
                self._warm_up()
            except ScannerError as error:
                self.model_error = str(error)
            except Exception as error:  # noqa: BLE001 - a broken model must not stop the editor from working
                self.model_error = (
                    f"The character model could not be loaded ({type(error).__name__}: {error})."
                )
            self._apply_model_state()
        return self._classifier is not None

    def _warm_up(self) -> None:
        """Run one drawing through the whole path now, so the user's first stroke is not the slow one.

        (The first crop imports OpenCV and the first model run sets up the runtime: ~0.1 s together.)
        """
        from scanner_app.gui.canvas import strokes_to_crop

        crop = strokes_to_crop([[(0.0, 0.0), (10.0, 20.0)]])
        self._classifier.predict_proba(crop[None, :, :, None])

    def _apply_model_state(self) -> None:
        problem = self.model_error
        if problem:
            self.canvas.set_message(
                f"The character model is not available, so drawing and scanning are off.\n\n{problem}"
            )
            self.prediction_label.setText("—")
            self.statusBar().showMessage(f"Model problem: {problem}")
        else:
            self.canvas.set_message("")
        self._set_busy(self.runner.is_running())

    # -- drawing ---------------------------------------------------------------------------------
    def charset(self) -> str:
        """Return the chosen character set: ``letters``, ``digits`` or ``alnum``."""
        for value, button in self.charset_buttons.items():
            if button.isChecked():
                return value
        return "alnum"

    def predict_now(self) -> None:
        """Classify the drawing and show the top three guesses (called at every pen-up)."""
        if self.canvas.is_empty() or not self.ensure_model():
            self.current_guesses = []
            self.prediction_label.setText("—")
            self.bars.set_guesses([])
            return
        clf = self._classifier
        crop = self.canvas.crop()
        if getattr(clf, "has_case", False) is True:
            probs, upper = clf.predict_with_case(crop[None, :, :, None])
            # The case head reads capital or small letter from the drawing's shape (A or a).
            small = float(upper[0]) < 0.5
        else:
            probs, small = clf.predict_proba(crop[None, :, :, None]), False
        guesses = [
            (str(c).lower() if small else str(c), float(p))
            for c, p in clf.top_k(probs, k=3, charset=self.charset())[0]
        ]
        self.current_guesses = guesses
        lines = [f"{c}  {p:.0%}" for c, p in guesses]
        self.prediction_label.setText("\n".join(lines))
        self.bars.set_guesses(guesses)

    def accept_prediction(self, other_case: bool = False) -> None:
        """Add the top guess (or, ``other_case``, its other case) to the text; clear the canvas."""
        if not self.current_guesses:
            self.statusBar().showMessage("Draw a character first.", 3000)
            return
        char = self.current_guesses[0][0]
        self.editor.append_char(char.swapcase() if other_case else char)
        self.canvas.clear()
        self.canvas.setFocus()

    def _show_mode(self, page: QWidget) -> None:
        self.tabs.setCurrentWidget(page)
        (self.canvas if page is self.draw_page else self.page_view).setFocus()

    def clear_canvas(self) -> None:
        """Remove the drawing."""
        self.canvas.clear()

    def undo_stroke(self) -> None:
        """Remove the last stroke."""
        self.canvas.undo_stroke()

    def _on_charset_toggled(self, button, checked: bool) -> None:
        if not checked:
            return
        self.settings.charset = self.charset()
        if not self.canvas.is_empty():
            self.predict_now()

    def _on_dictionary_toggled(self, checked: bool) -> None:
        self.settings.dictionary = checked

    # -- scanning --------------------------------------------------------------------------------
    def scan_config(self) -> Any:
        """Return the options for the next scan."""
        from scanner_app.core.pipeline import ScanConfig

        return ScanConfig(charset=self.charset(), dictionary=self.dictionary_check.isChecked())

    def _can_start_scan(self) -> bool:
        if self.runner.is_running():
            self.statusBar().showMessage(
                "A scan is already running: wait for it to finish or cancel it.", 5000
            )
            return False
        if not self.ensure_model():
            dialogs.show_error(self, "Scanning is not available", self.model_error or "The model is missing.")
            return False
        return True

    def open_file_dialog(self) -> None:
        """Ask for an image or PDF and scan it."""
        if not self._can_start_scan() or not self.maybe_save_changes():
            return
        path = dialogs.get_open_path(self, self.settings.last_folder)
        if path:
            self.open_file(path, ask_to_save=False)

    def open_file(self, path: str | Path, *, ask_to_save: bool = True) -> bool:
        """Scan the image or PDF at ``path`` in the background; False if it did not start."""
        if not self._can_start_scan():
            return False
        if ask_to_save and not self.maybe_save_changes():
            return False
        path = str(path)
        if Path(path).is_file():
            self.settings.add_recent(path)
        job = functools.partial(scan_file_job, path, self._classifier, self.scan_config())
        return self._start_scan(job, Path(path).name)

    def scan_image(self, image: QImage, name: str = "pasted image") -> bool:
        """Scan an in-memory picture (from the clipboard or a drop)."""
        if not self._can_start_scan() or not self.maybe_save_changes():
            return False
        page = qimage_to_page(image, source=name)
        job = functools.partial(scan_page_job, page, self._classifier, self.scan_config())
        return self._start_scan(job, name)

    def _start_scan(self, job, name: str) -> bool:
        self._scan_name = name
        self.progress.setValue(0)
        self.progress.setFormat("Starting…")
        started = self.runner.start(job)
        if started:
            self._set_busy(True)
            self.tabs.setCurrentWidget(self.scan_page)
            self.statusBar().showMessage(f"Scanning {name}…")
        return started

    def cancel_scan(self) -> None:
        """Stop the running scan at its next step."""
        if self.runner.is_running():
            self.runner.cancel()
            self.progress.setFormat("Cancelling…")
            self.statusBar().showMessage("Cancelling the scan…")

    def is_scanning(self) -> bool:
        """Whether a scan is running."""
        return self.runner.is_running()

    def _set_busy(self, busy: bool) -> None:
        available = self._classifier is not None or self.model_error is None
        for widget in (self.open_action, self.paste_action, self.open_button):
            widget.setEnabled(available and not busy)
        if hasattr(self, "recent_menu"):
            self.recent_menu.setEnabled(available and not busy)
        self.cancel_button.setEnabled(busy)
        self.cancel_action.setEnabled(busy)
        self.progress.setVisible(busy or self.progress.value() > 0)
        if not busy and self.model_error:
            self.progress.setFormat("Scanning is off: the model is not available")

    def _on_progress(self, step: Progress) -> None:
        self.progress.setValue(int(round(step.fraction * 1000)))
        name = STAGE_NAMES.get(step.stage, step.stage.capitalize())
        # The page is named in files of several pages (when their length is unknown: from the second page).
        if isinstance(step, PageProgress) and (step.pages > 1 or (step.pages == 0 and step.page > 0)):
            of = f" of {step.pages}" if step.pages else ""
            self.progress.setFormat(f"Page {step.page + 1}{of}: {name}…")
        else:
            self.progress.setFormat(f"{name}…")

    def _on_scan_finished(self, pages: list[DocumentPage]) -> None:
        self.pages = list(pages)
        self.editor.set_results([p.result for p in self.pages])
        text = self.editor.toPlainText()
        # A fresh reading is text the user has not saved yet: closing or opening another page asks first.
        self.editor.document().setModified(bool(text.replace(PAGE_SEPARATOR, "").strip()))
        self.page_number = 0
        self._show_page()
        self.current_path = None
        self.document_name = Path(self._scan_name).stem or "Untitled"
        self._update_title()
        self.progress.setValue(1000)
        self.progress.setFormat("Done")
        count = sum(len(p.result.chars) for p in self.pages)
        if len(self.pages) == 1:
            notes = " ".join(self.pages[0].result.notes)
            self.statusBar().showMessage(f"Read {count} characters from {self._scan_name}. {notes}".strip())
            if count == 0:
                # Say it plainly: an empty text with no explanation looks like a bug.
                dialogs.show_info(self, "No text found", notes or "No handwriting was found on the page.")
            return
        notes = self._page_notes()
        self.statusBar().showMessage(
            f"Read {count} characters from {len(self.pages)} pages of {self._scan_name}. {notes}".strip()
        )
        if count == 0:
            why = f"No handwriting was found on any of the {len(self.pages)} pages. {notes}"
            dialogs.show_info(self, "No text found", why.strip())

    def _page_notes(self) -> str:
        """Say which pages of the document had nothing or failed (for the status bar)."""
        empty = [str(k) for k, p in enumerate(self.pages, 1) if not p.problem and not p.result.chars]
        notes = []
        if empty:
            notes.append(f"Nothing found on page{'s' if len(empty) > 1 else ''} {', '.join(empty)}.")
        failed = [(k, p.problem) for k, p in enumerate(self.pages, 1) if p.problem]
        if failed:
            k, problem = failed[0]
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            notes.append(f"Page {k}{more} could not be read: {problem}")
        return " ".join(notes)

    # -- pages of a document -----------------------------------------------------------------------
    def go_to_page(self, number: int) -> None:
        """Show page ``number`` (0-based) of the document and scroll the text to that page's part."""
        if not 0 <= number < len(self.pages):
            return
        if self.tabs.currentWidget() is not self.scan_page:
            self.tabs.setCurrentWidget(self.scan_page)
        if number != self.page_number:
            self.page_number = number
            self._show_page()
        self.editor.scroll_to_page(number)

    def _show_page(self) -> None:
        """Put the current page, its boxes and its state on screen."""
        if not self.pages:
            self._update_navigator()
            return
        entry = self.pages[self.page_number]
        pixels = entry.image()
        self.last_result = entry.result
        if pixels is None:
            self.page_view.set_message(
                f"Page {self.page_number + 1} could not be read.\n\n{entry.problem or ''}".strip()
            )
        else:
            self.page_view.set_page(pixels, entry.scale)
            self.page_view.set_predictions(entry.result.chars)
            # Keep the link visible: the character the text cursor is on may be on this page.
            cursor = self.editor.textCursor()
            index = self.editor.index_at(cursor.selectionStart())
            if index is not None:
                page, local = self.editor.page_of(index)
                if page == self.page_number:
                    self.page_view.highlight(local)
        self._update_navigator()

    def _update_navigator(self) -> None:
        count = len(self.pages)
        several = count > 1
        self.page_nav.setVisible(several)
        self.prev_page_action.setEnabled(several and self.page_number > 0)
        self.next_page_action.setEnabled(several and self.page_number < count - 1)
        self.prev_page_button.setEnabled(self.prev_page_action.isEnabled())
        self.next_page_button.setEnabled(self.next_page_action.isEnabled())
        if not several:
            self.page_label.setText("")
            return
        entry = self.pages[self.page_number]
        state = ""
        if entry.problem:
            state = " — could not be read"
        elif not entry.result.chars:
            state = " — nothing found"
        self.page_label.setText(f"Page {self.page_number + 1} of {count}{state}")

    def _on_page_activated(self, number: int) -> None:
        # The text cursor went into another page's text: show that page.
        if number != self.page_number and 0 <= number < len(self.pages):
            self.page_number = number
            self._show_page()

    def _on_scan_failed(self, error: BaseException) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("Failed")
        if isinstance(error, ScannerError):
            self.statusBar().showMessage(str(error), 8000)
            dialogs.show_error(self, "Could not scan the page", str(error))
        else:
            details = dialogs.format_exception(type(error), error, error.__traceback__)
            self.statusBar().showMessage("The scan failed with an unexpected error.", 8000)
            dialogs.show_crash(self, details)

    def _on_scan_cancelled(self) -> None:
        self.progress.setValue(0)
        self.progress.setFormat("Cancelled")
        self.statusBar().showMessage("Scan cancelled; the text was not changed.", 5000)

    def _on_box_clicked(self, index: int) -> None:
        # The view numbers the shown page's characters; the editor numbers the whole document's.
        if not self.editor.select_char(self.editor.document_index(self.page_number, index)):
            self.statusBar().showMessage(
                "That character was edited; it is no longer linked to the text.", 4000
            )

    def _on_char_activated(self, index: int) -> None:
        if index < 0:
            self.page_view.highlight(None)
            return
        page, local = self.editor.page_of(index)
        if page != self.page_number and 0 <= page < len(self.pages):
            self.page_number = page
            self._show_page()
        self.page_view.highlight(local)

    # -- files -----------------------------------------------------------------------------------
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files
        for i, path in enumerate(recent, start=1):
            action = self.recent_menu.addAction(f"&{i} {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        if not recent:
            empty = self.recent_menu.addAction("(none yet)")
            empty.setEnabled(False)

    def _open_recent(self, path: str) -> None:
        if not Path(path).is_file():
            self.settings.remove_recent(path)
            dialogs.show_error(self, "File not found", f"{path} no longer exists.")
            return
        self.open_file(path)

    def paste(self) -> None:
        """Scan an image (or image file) from the clipboard."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is not None and mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.scan_image(image)
                return
        if mime is not None and mime.hasUrls():
            files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
            if files:
                self.open_file(files[0])
                return
        self.statusBar().showMessage("The clipboard holds no image to scan.", 4000)

    def _on_page_offered(self, page: object) -> None:
        # Queued: the paste or drop must return before a prompt or a scan starts.
        if isinstance(page, QImage):
            QTimer.singleShot(0, lambda: self.scan_image(page))
        else:
            QTimer.singleShot(0, lambda: self.open_file(str(page)))

    def dragEnterEvent(self, event) -> None:  # noqa: D102
        mime = event.mimeData()
        if mime.hasImage() or any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: D102
        mime = event.mimeData()
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        event.acceptProposedAction()
        # Run after the drop returns, so a modal prompt does not block the drag source.
        if files:
            QTimer.singleShot(0, lambda: self.open_file(files[0]))
        elif mime.hasImage():
            image = QImage(mime.imageData())
            QTimer.singleShot(0, lambda: self.scan_image(image, "dropped image"))

    def maybe_save_changes(self) -> bool:
        """If the text has unsaved edits, ask what to do; False means: stop, keep everything."""
        if not self.editor.document().isModified() or not self.editor.toPlainText().strip():
            return True
        answer = dialogs.ask_unsaved_changes(self)
        if answer == dialogs.SAVE:
            return self.save()
        return answer == dialogs.DISCARD

    def new_text(self) -> None:
        """Start a new empty text (asking about unsaved changes first)."""
        if not self.maybe_save_changes():
            return
        self.editor.set_text("")
        self.current_path = None
        self.document_name = "Untitled"
        self._update_title()

    def save(self) -> bool:
        """Save to the current file (asks for a name the first time); True on success."""
        if self.current_path is None:
            return self.save_as()
        return self._write(self.current_path)

    def save_as(self) -> bool:
        """Ask for a file name and save; True on success."""
        suggestion = str(Path(self.settings.last_folder) / f"{self.document_name}.txt")
        path = dialogs.get_save_path(self, suggestion)
        if not path:
            return False
        return self._write(Path(path))

    def _write(self, path: Path) -> bool:
        from scanner_app.core.textio import write_text_atomic

        text = self.editor.toPlainText()
        # One final newline, as the CLI writes (also after an empty last page: the text ends in a separator).
        if text and (not text.endswith("\n") or text.endswith(PAGE_SEPARATOR)):
            text += "\n"
        try:
            write_text_atomic(path, text)
        except (ScannerError, OSError) as error:
            # The text stays in the editor, still marked as unsaved.
            dialogs.show_error(self, "Could not save", f"The text was not saved to {path}.\n\n{error}")
            return False
        self.current_path = path
        self.document_name = path.stem
        self.settings.last_folder = str(path.parent)
        self.editor.document().setModified(False)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def copy_all(self) -> None:
        """Copy the whole text to the clipboard."""
        QGuiApplication.clipboard().setText(self.editor.toPlainText())
        self.statusBar().showMessage("Copied the whole text.", 3000)

    def show_about(self) -> None:
        """Show the About dialog with the model card."""
        card = getattr(self._classifier, "card", None) if self._classifier is not None else None
        dialogs.show_about(self, card, self.model_error)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.document_name}[*] — {APP_NAME}")
        self.setWindowModified(self.editor.document().isModified())

    def paintEvent(self, event) -> None:  # noqa: D102
        super().paintEvent(event)
        if not self._model_requested:
            self._model_requested = True
            QTimer.singleShot(0, self.ensure_model)

    # -- closing ---------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: D102
        if not self.maybe_save_changes():
            event.ignore()
            return
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.wait(15_000)
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.splitter.saveState()
        self.settings.sync()
        event.accept()
