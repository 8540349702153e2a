"""The recognised text, editable; each scanned character stays linked to its box while it exists.

The link is a list ``positions[i]`` = where character ``i`` of the scan result sits in the text. It
follows every edit (``QTextDocument.contentsChange``): text inserted before a character shifts it,
and a character the user deletes or overtypes loses its link (its box then no longer selects text).
So the user's edits are never overwritten by the mapping, and the mapping never points at wrong text.

A multi-page document is one text: the pages' texts joined by ``PAGE_SEPARATOR`` (as the CLI writes them).
Its characters are numbered across the whole document (page 1's first, then page 2's, ...); ``page_of``
turns such an index into (page, index on that page). Where each page's text begins is tracked through
edits the same way, so the page the text cursor is in is known even on text that has no box.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPalette, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QMenu, QPlainTextEdit, QTextEdit, QWidget

from scanner_app.core.textio import PAGE_SEPARATOR
from scanner_app.core.types import PAGE_SUFFIXES, CharPrediction, ScanResult
from scanner_app.gui.page_view import HIGH, MEDIUM

# The same thresholds as the boxes on the page: below HIGH a character is marked for checking
# (orange), below MEDIUM it is probably wrong (red).
LOW_CONFIDENCE = HIGH


def map_positions(result: ScanResult) -> list[int | None]:
    """Return the text position of each of ``result.chars`` within ``result.text``.

    Lines are joined by one newline; within a line, the predictions are the non-space characters in
    order. If a line's text and its predictions disagree in count (for example after a word-list
    correction changed a word's length), only the characters that still match are linked.
    """
    positions: list[int | None] = []
    offset = 0
    for line in result.lines:
        slots = [i for i, ch in enumerate(line.text) if not ch.isspace()]
        if len(slots) == len(line.chars):
            positions += [offset + s for s in slots]
        else:
            for k, pred in enumerate(line.chars):
                ok = k < len(slots) and line.text[slots[k]].casefold() == pred.char.casefold()
                positions.append(offset + slots[k] if ok else None)
        offset += len(line.text) + 1
    return positions


def map_document_positions(
    results: Sequence[ScanResult], separator: str = PAGE_SEPARATOR
) -> tuple[list[int | None], list[int], list[int]]:
    """Map the characters of several pages, whose texts are joined by ``separator``.

    Returns ``(positions, first_index, page_starts)``: the text position of every character of every
    page (numbered across the document), the document index of each page's first character, and the
    text position where each page's text begins.
    """
    positions: list[int | None] = []
    first_index: list[int] = []
    page_starts: list[int] = []
    offset = 0
    for result in results:
        first_index.append(len(positions))
        page_starts.append(offset)
        positions += [None if p is None else offset + p for p in map_positions(result)]
        offset += len(result.text) + len(separator)
    return positions, first_index, page_starts


class ResultEditor(QPlainTextEdit):
    """Plain-text editor that knows which characters came from which box on the page."""

    charActivated = Signal(int)  # the text cursor is on scanned character i (-1: on none)
    pageActivated = Signal(int)  # the text cursor is in page k's text (documents of several pages only)
    pageOffered = Signal(object)  # a picture (QImage) or a file path pasted or dropped here: scan it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resultEditor")
        self.setAccessibleName("Recognised text")
        self.setPlaceholderText("The recognised text appears here. You can edit it, then save it (Ctrl+S).")
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.setFont(font)
        self.preds: list[CharPrediction] = []
        self.positions: list[int | None] = []
        self.confirmed: set[int] = set()  # characters the user picked an alternative for
        self._index_at: dict[int, int] = {}
        self.first_index: list[int] = []  # document index of each page's first character
        self.page_starts: list[int] = []  # text position where each page's text begins (follows edits)
        self.document().contentsChange.connect(self._on_contents_change)
        self.cursorPositionChanged.connect(self._on_cursor_moved)

    # -- content ----------------------------------------------------------------------------------
    def set_result(self, result: ScanResult) -> None:
        """Replace the text with a scan result and link its characters (the document starts unmodified)."""
        self.set_results([result])

    def set_results(self, results: Sequence[ScanResult]) -> None:
        """Replace the text with the pages of a document, joined by ``PAGE_SEPARATOR``, and link them all."""
        self._clear_links()
        self.setPlainText(PAGE_SEPARATOR.join(r.text for r in results))
        self.preds = [c for r in results for c in r.chars]
        self.positions, self.first_index, self.page_starts = map_document_positions(results)
        self._reindex()
        self.document().setModified(False)

    def set_text(self, text: str) -> None:
        """Replace the text with plain text that has no boxes (for example an opened or new document)."""
        self._clear_links()
        self.setPlainText(text)
        self._reindex()
        self.document().setModified(False)

    def _clear_links(self) -> None:
        self.preds, self.positions, self.confirmed = [], [], set()
        self.first_index, self.page_starts = [], []

    def page_count(self) -> int:
        """How many scanned pages the text holds (0 for typed text)."""
        return len(self.page_starts)

    def page_of(self, index: int) -> tuple[int, int]:
        """Return ``(page, index on that page)`` of scanned character ``index`` (numbered across pages)."""
        page = max(0, bisect.bisect_right(self.first_index, index) - 1)
        return page, index - (self.first_index[page] if self.first_index else 0)

    def document_index(self, page: int, index: int) -> int:
        """Return character ``index`` of ``page`` numbered across the document (inverse of ``page_of``)."""
        return (self.first_index[page] if 0 <= page < len(self.first_index) else 0) + index

    def page_at(self, position: int) -> int:
        """Which page's text holds text ``position`` (0 when the text is not a scanned document)."""
        return max(0, bisect.bisect_right(self.page_starts, position) - 1)

    def scroll_to_page(self, page: int) -> None:
        """Scroll so that ``page``'s text starts at the top (the text cursor stays where the user left it)."""
        if not 0 <= page < len(self.page_starts):
            return
        if self.page_at(self.textCursor().position()) == page:
            self.ensureCursorVisible()  # the cursor is on that page already: show it, not the page's top
            return
        block = self.document().findBlock(min(self.page_starts[page], self.document().characterCount() - 1))
        # QPlainTextEdit scrolls by layout lines: a block's first line number is its scroll value.
        self.verticalScrollBar().setValue(block.firstLineNumber())

    def append_char(self, char: str) -> None:
        """Add ``char`` at the end of the text (the canvas's Enter key), as an undoable edit."""
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(char)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def position_of(self, index: int) -> int | None:
        """Where scanned character ``index`` is in the text, or None if it was edited away."""
        if 0 <= index < len(self.positions):
            return self.positions[index]
        return None

    def index_at(self, position: int) -> int | None:
        """Which scanned character sits at text ``position`` (None for typed or edited text)."""
        return self._index_at.get(position)

    def select_char(self, index: int) -> bool:
        """Select scanned character ``index`` in the text (from a click on its box); False if it is gone."""
        pos = self.position_of(index)
        if pos is None:
            return False
        cursor = self.textCursor()
        cursor.setPosition(pos)
        cursor.setPosition(pos + 1, QTextCursor.MoveMode.KeepAnchor)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()
        return True

    def replace_char(self, index: int, char: str) -> None:
        """Put ``char`` (an alternative the user picked) in place of scanned character ``index``."""
        pos = self.position_of(index)
        if pos is None:
            return
        cursor = QTextCursor(self.document())
        cursor.setPosition(pos)
        cursor.setPosition(pos + 1, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertText(char)
        # The edit unlinked the character; it is still the same box, now with the user's choice.
        self.positions[index] = pos
        self.confirmed.add(index)
        self._reindex()

    # -- keeping the link through edits -------------------------------------------------------------
    def _on_contents_change(self, position: int, removed: int, added: int) -> None:
        if not self.positions and not self.page_starts:
            return
        end = position + removed
        delta = added - removed
        for i, p in enumerate(self.positions):
            if p is None or p < position:
                continue
            if p < end:
                self.positions[i] = None  # this very character was deleted or overtyped
            else:
                self.positions[i] = p + delta
        # A page start inside deleted text moves to where the edit was; pages keep their order.
        for k, p in enumerate(self.page_starts):
            if p > position:
                self.page_starts[k] = max(position, p + delta) if p < end else p + delta
        self._reindex()

    def _reindex(self) -> None:
        self._index_at = {p: i for i, p in enumerate(self.positions) if p is not None}
        self._update_highlights()

    def low_confidence_positions(self) -> list[int]:
        """Text positions of linked characters the model was unsure about (and the user has not fixed)."""
        return sorted(
            p
            for i, p in enumerate(self.positions)
            if p is not None and i not in self.confirmed and self.preds[i].confidence < LOW_CONFIDENCE
        )

    def _update_highlights(self) -> None:
        selections = []
        light = self.palette().color(QPalette.ColorRole.Base).lightness() > 127
        # Tints that keep the text readable on light and dark backgrounds.
        unsure = QColor(255, 170, 0, 110) if light else QColor(200, 110, 0, 150)
        doubtful = QColor(255, 80, 80, 110) if light else QColor(200, 40, 40, 170)
        confidence = {p: self.preds[i].confidence for i, p in enumerate(self.positions) if p is not None}
        for pos in self.low_confidence_positions():
            sel = QTextEdit.ExtraSelection()
            fmt = QTextCharFormat()
            fmt.setBackground(doubtful if confidence[pos] < MEDIUM else unsure)
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(QColor(215, 30, 40))
            fmt.setToolTip("The model was unsure here: right-click for alternatives")
            sel.format = fmt
            cursor = QTextCursor(self.document())
            cursor.setPosition(pos)
            cursor.setPosition(pos + 1, QTextCursor.MoveMode.KeepAnchor)
            sel.cursor = cursor
            selections.append(sel)
        selections += self._page_break_bands()
        self.setExtraSelections(selections)

    def _page_break_bands(self) -> list[QTextEdit.ExtraSelection]:
        """Return a faint band across each page break (the form feed itself shows as an empty line)."""
        band = QColor(self.palette().color(QPalette.ColorRole.Mid))
        band.setAlpha(70)
        offset = len(PAGE_SEPARATOR) - PAGE_SEPARATOR.index("\f")  # from a page's start back to its form feed
        bands = []
        for number, start in enumerate(self.page_starts[1:], start=2):
            mark = start - offset
            if mark < 0 or self.document().characterAt(mark) != "\f":
                continue  # the user edited this page break away
            sel = QTextEdit.ExtraSelection()
            fmt = QTextCharFormat()
            fmt.setBackground(band)
            fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
            fmt.setToolTip(f"Page {number} begins below")
            sel.format = fmt
            cursor = QTextCursor(self.document())
            cursor.setPosition(mark)
            sel.cursor = cursor
            bands.append(sel)
        return bands

    def _on_cursor_moved(self) -> None:
        cursor = self.textCursor()
        pos = cursor.selectionStart() if cursor.hasSelection() else cursor.position()
        if len(self.page_starts) > 1:
            self.pageActivated.emit(self.page_at(pos))
        index = self.index_at(pos)
        if index is None and not cursor.hasSelection():
            index = self.index_at(pos - 1)  # the cursor just after a character
        self.charActivated.emit(-1 if index is None else index)

    # -- pictures pasted or dropped on the text ----------------------------------------------------
    def _offered_page(self, source: QMimeData) -> object | None:
        files = [u.toLocalFile() for u in source.urls() if u.isLocalFile()] if source.hasUrls() else []
        pages = [f for f in files if f.lower().endswith(PAGE_SUFFIXES)]
        if pages:
            return pages[0]
        if source.hasImage():
            image = QImage(source.imageData())
            return None if image.isNull() else image
        return None

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: D102
        return self._offered_page(source) is not None or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: D102
        # A page image or file is something to scan, not text: never paste its path or nothing.
        page = self._offered_page(source)
        if page is not None:
            self.pageOffered.emit(page)
            return
        super().insertFromMimeData(source)

    # -- alternatives menu --------------------------------------------------------------------------
    def char_index_at_point(self, point) -> int | None:
        """Which scanned character is under a viewport point (None for other text)."""
        cursor = self.cursorForPosition(point)
        pos = cursor.position()
        rect_here = self.cursorRect(cursor)
        # cursorForPosition gives the nearest gap; the character clicked is left or right of it.
        first, second = (pos - 1, pos) if point.x() < rect_here.x() else (pos, pos - 1)
        for p in (first, second):
            index = self.index_at(p)
            if index is not None:
                return index
        return None

    def alternatives_menu(self, index: int, parent: QWidget | None = None) -> QMenu:
        """Return a menu of the model's alternatives for scanned character ``index``."""
        menu = QMenu(parent or self)
        pred = self.preds[index]
        pos = self.positions[index]
        current = self.document().characterAt(pos) if pos is not None else pred.char
        title = menu.addAction(f"'{current}': model {pred.confidence:.0%} sure")
        title.setEnabled(False)
        for alt, p in pred.alternatives:
            shown = alt.lower() if current.islower() else alt
            if shown == current:
                continue
            action = menu.addAction(f"Use '{shown}'  ({p:.0%})")
            action.setData(shown)
            action.triggered.connect(lambda _=False, c=shown, i=index: self.replace_char(i, c))
        return menu

    def contextMenuEvent(self, event) -> None:  # noqa: D102
        index = self.char_index_at_point(event.pos())
        menu = self.alternatives_menu(index) if index is not None else QMenu(self)
        standard = self.createStandardContextMenu(event.pos())
        if index is not None:
            menu.addSeparator()
        for action in standard.actions():
            action.setParent(menu)
            menu.addAction(action)
        menu.exec(event.globalPos())
        menu.deleteLater()
        standard.deleteLater()

    def keyPressEvent(self, event) -> None:  # noqa: D102
        # The context-menu key opens the alternatives for the character at the cursor.
        if event.key() == Qt.Key.Key_Menu:
            rect = self.cursorRect()
            index = self.index_at(self.textCursor().position())
            if index is not None:
                menu = self.alternatives_menu(index)
                menu.exec(self.viewport().mapToGlobal(rect.bottomRight()))
                menu.deleteLater()
                event.accept()
                return
        super().keyPressEvent(event)
