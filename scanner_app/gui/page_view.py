"""The scanned page with a box around every recognised character, coloured by confidence.

Wheel zooms (under the mouse), dragging pans, ``fit()`` shows the whole page. Hovering a box shows its
alternatives; clicking one emits ``boxClicked(index)`` with the character's index in ``ScanResult.chars``.
It shows one page at a time; for a document of several pages, Page Down at the bottom of a page (or when
the whole page is in view) emits ``pageRequested(+1)``, Page Up at the top ``pageRequested(-1)``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from scanner_app.core.types import CharPrediction

# Confidence colours: chosen to read on a white page in light and dark themes (the page stays a page).
HIGH, MEDIUM = 0.85, 0.5
COLOUR_HIGH = QColor(0, 140, 70)
COLOUR_MEDIUM = QColor(230, 140, 0)
COLOUR_LOW = QColor(215, 30, 40)


def confidence_colour(confidence: float) -> QColor:
    """Green for confident characters, orange for doubtful ones, red for likely errors."""
    if confidence >= HIGH:
        return QColor(COLOUR_HIGH)
    if confidence >= MEDIUM:
        return QColor(COLOUR_MEDIUM)
    return QColor(COLOUR_LOW)


def alternatives_text(pred: CharPrediction) -> str:
    """Return a tooltip: the character, its confidence and its alternatives."""
    lines = [f"'{pred.char}'  {pred.confidence:.0%}"]
    lines += [f"  {alt}  {p:.0%}" for alt, p in pred.alternatives[1:]]
    return "\n".join(lines)


def gray_to_qimage(pixels: np.ndarray) -> QImage:
    """Wrap a uint8 H x W greyscale array as a QImage (copied, so the array may go away)."""
    data = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = data.shape
    return QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


class BoxItem(QGraphicsRectItem):
    """One character's box; knows its index in the scan result."""

    def __init__(self, index: int, pred: CharPrediction) -> None:
        box = pred.box
        super().__init__(QRectF(box.x, box.y, box.w, box.h))
        self.index = index
        self.pred = pred
        self.colour = confidence_colour(pred.confidence)
        self.setToolTip(alternatives_text(pred))
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.set_state(selected=False, hovered=False)

    def set_state(self, *, selected: bool, hovered: bool) -> None:
        """Restyle for selection and hover (a thicker outline, a stronger fill)."""
        pen = QPen(self.colour, 3.5 if selected else (2.5 if hovered else 1.5))
        pen.setCosmetic(True)  # the same width on screen at any zoom
        self.setPen(pen)
        fill = QColor(self.colour)
        fill.setAlpha(90 if selected else (60 if hovered else 25))
        self.setBrush(QBrush(fill))
        self._selected = selected

    def hoverEnterEvent(self, event) -> None:  # noqa: D102
        self.set_state(selected=self._selected, hovered=True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: D102
        self.set_state(selected=self._selected, hovered=False)
        super().hoverLeaveEvent(event)


class PageView(QGraphicsView):
    """A zoomable, pannable view of one page and its character boxes."""

    boxClicked = Signal(int)
    pageRequested = Signal(int)  # +1: the next page, -1: the previous one (Page Down / Up at the edge)

    MIN_ZOOM, MAX_ZOOM = 0.02, 40.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pageView")
        self.setAccessibleName("Scanned page")
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setBackgroundBrush(self.palette().brush(QPalette.ColorRole.Window))
        self._pixmap: QGraphicsPixmapItem | None = None
        self.boxes: list[BoxItem] = []
        self._selected: int | None = None
        self._fit_on_resize = True
        self._placeholder = self.scene().addText(
            "Open (Ctrl+O), drop or paste a photo or scan of a handwritten page"
        )
        self._placeholder.setDefaultTextColor(self.palette().color(QPalette.ColorRole.PlaceholderText))

    def has_page(self) -> bool:
        """Whether a page is shown."""
        return self._pixmap is not None

    def set_page(self, pixels: np.ndarray, scale: float = 1.0) -> None:
        """Show a page (uint8 grey H x W), removing old boxes, and fit it to the window.

        Scene coordinates are the source file's pixels: a page shrunk on load (``scale`` < 1,
        as in ``PageImage.scale``) is drawn enlarged by ``1 / scale``, so boxes in source pixels fit.
        """
        scene = self.scene()
        scene.clear()
        self._placeholder = None
        self.boxes = []
        self._selected = None
        self._pixmap = scene.addPixmap(QPixmap.fromImage(gray_to_qimage(pixels)))
        self._pixmap.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        if scale > 0 and scale != 1.0:
            self._pixmap.setScale(1.0 / scale)
        scene.setSceneRect(self._pixmap.sceneBoundingRect())
        self.fit()

    def set_message(self, text: str) -> None:
        """Show a message instead of a page (a page of a document that could not be read)."""
        scene = self.scene()
        scene.clear()
        self._pixmap = None
        self.boxes = []
        self._selected = None
        self._placeholder = scene.addText(text)
        self._placeholder.setDefaultTextColor(self.palette().color(QPalette.ColorRole.PlaceholderText))
        self._placeholder.setTextWidth(360)
        scene.setSceneRect(self._placeholder.sceneBoundingRect())
        self.resetTransform()
        self._fit_on_resize = True

    def set_predictions(self, preds: tuple[CharPrediction, ...] | list[CharPrediction]) -> None:
        """Draw one box per prediction that has a box; index = position in ``preds``."""
        for item in self.boxes:
            self.scene().removeItem(item)
        self.boxes = []
        self._selected = None
        for i, pred in enumerate(preds):
            if pred.box is None:
                continue
            item = BoxItem(i, pred)
            self.scene().addItem(item)
            self.boxes.append(item)

    def box_for(self, index: int) -> BoxItem | None:
        """Return the box of character ``index``, if it has one."""
        for item in self.boxes:
            if item.index == index:
                return item
        return None

    def highlight(self, index: int | None, *, ensure_visible: bool = True) -> None:
        """Mark character ``index`` as selected (None clears the mark) and scroll it into view."""
        if self._selected is not None:
            old = self.box_for(self._selected)
            if old is not None:
                old.set_state(selected=False, hovered=False)
        self._selected = index
        item = self.box_for(index) if index is not None else None
        if item is not None:
            item.set_state(selected=True, hovered=False)
            if ensure_visible:
                self.ensureVisible(item, 40, 40)

    def selected_index(self) -> int | None:
        """Return the highlighted character's index, or None."""
        return self._selected

    # -- zoom and pan ---------------------------------------------------------------------------
    def zoom(self) -> float:
        """Return the current scale (1.0 = one page pixel per screen pixel)."""
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        """Zoom in (> 1) or out (< 1) within sane limits."""
        target = min(self.MAX_ZOOM, max(self.MIN_ZOOM, self.zoom() * factor))
        factor = target / self.zoom()
        self.scale(factor, factor)
        self._fit_on_resize = False

    def fit(self) -> None:
        """Show the whole page."""
        if self._pixmap is not None:
            self.fitInView(self._pixmap, Qt.AspectRatioMode.KeepAspectRatio)
        self._fit_on_resize = True

    def wheelEvent(self, event) -> None:  # noqa: D102
        steps = event.angleDelta().y() / 120.0
        if steps and self._pixmap is not None:
            self.zoom_by(1.25**steps)
            event.accept()
        else:
            super().wheelEvent(event)

    def resizeEvent(self, event) -> None:  # noqa: D102
        super().resizeEvent(event)
        if self._fit_on_resize:
            self.fit()

    def keyPressEvent(self, event) -> None:  # noqa: D102
        key, plain = event.key(), event.modifiers() == Qt.KeyboardModifier.NoModifier
        if plain and key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            bar = self.verticalScrollBar()
            # Within a page the keys scroll; at its edge they turn the page, as in a document viewer.
            if key == Qt.Key.Key_PageDown and bar.value() >= bar.maximum():
                self.pageRequested.emit(1)
                event.accept()
                return
            if key == Qt.Key.Key_PageUp and bar.value() <= bar.minimum():
                self.pageRequested.emit(-1)
                event.accept()
                return
        super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: D102
        if event.button() == Qt.MouseButton.LeftButton:
            item = self.itemAt(event.position().toPoint())
            if isinstance(item, BoxItem):
                self.highlight(item.index, ensure_visible=False)
                self.boxClicked.emit(item.index)
                event.accept()
                return
        super().mousePressEvent(event)
