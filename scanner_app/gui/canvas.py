"""The drawing canvas: one character drawn with mouse, pen or touch, turned into a model crop.

Strokes are kept as point lists in widget coordinates and drawn as smoothed ``QPainterPath``s with
round caps and joins. For the model they are redrawn white-on-black the way the pen-trajectory training
sets were rendered (glyph about 100 px, pen 8.5 % of the glyph, anti-aliased, light blur) and then framed
by ``scanner_app.core.crops.frame_glyph``, the framing shared with training and page scans.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QTabletEvent,
    QTouchEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

Stroke = list[tuple[float, float]]

# How the pen-trajectory training images were drawn (see shared/data/README.md).
RENDER_CANVAS = 128
RENDER_GLYPH = 100
RENDER_PEN_FRACTION = 0.085


def stroke_path(points: Stroke) -> QPainterPath:
    """Return a smooth path through ``points``: quadratic curves through the midpoints."""
    path = QPainterPath()
    if not points:
        return path
    # Plain floats: numpy scalars must not reach Qt's C++ signatures.
    points = [(float(x), float(y)) for x, y in points]
    path.moveTo(*points[0])
    if len(points) == 1:
        # A tap: a zero-length segment, which a round cap draws as a dot.
        path.lineTo(points[0][0] + 0.01, points[0][1])
        return path
    for (x0, y0), (x1, y1) in zip(points[1:-1], points[2:], strict=False):
        path.quadTo(x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    path.lineTo(*points[-1])
    return path


def render_strokes(strokes: list[Stroke]) -> np.ndarray:
    """Draw strokes white on black like the training sets; returns uint8 ink-high H x W (128 x 128).

    The glyph is scaled so its larger side is ``RENDER_GLYPH`` px, keeping its aspect ratio.
    """
    pts = np.array([p for s in strokes for p in s], dtype=np.float64).reshape(-1, 2)
    image = QImage(RENDER_CANVAS, RENDER_CANVAS, QImage.Format.Format_Grayscale8)
    image.fill(0)
    if len(pts):
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        size = max(float((hi - lo).max()), 1e-6)
        scale = RENDER_GLYPH / size
        centre = (lo + hi) / 2
        ox, oy = (float(v) for v in RENDER_CANVAS / 2 - centre * scale)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(255, 255, 255), RENDER_PEN_FRACTION * RENDER_GLYPH)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        for s in strokes:
            scaled = [(float(x) * scale + ox, float(y) * scale + oy) for x, y in s]
            painter.drawPath(stroke_path(scaled))
        painter.end()
    bits = np.frombuffer(image.constBits(), np.uint8).reshape(RENDER_CANVAS, image.bytesPerLine())
    return bits[:, :RENDER_CANVAS].copy()


def strokes_to_crop(strokes: list[Stroke]) -> np.ndarray:
    """Turn strokes into the model's float32 28 x 28 crop (0..1, ink high), framed like training."""
    import cv2  # lazy: keeps the window's start-up free of OpenCV

    from scanner_app.core.crops import frame_glyph

    ink = render_strokes(strokes)
    ink = cv2.GaussianBlur(ink, (0, 0), 1.0)
    return frame_glyph(ink)


class DrawingCanvas(QWidget):
    """A square area to draw one character; emits ``strokeFinished`` at every pen-up."""

    strokeFinished = Signal()
    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("drawingCanvas")
        self.setAccessibleName("Drawing canvas")
        self.setAccessibleDescription("Draw one letter or digit here; Esc clears, Ctrl+Z undoes a stroke.")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(220, 220)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.strokes: list[Stroke] = []
        self._current: Stroke | None = None
        self._message = ""

    # -- public API -----------------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: D102
        return QSize(360, 360)

    def is_empty(self) -> bool:
        """Whether nothing is drawn."""
        return not self.strokes and self._current is None

    def clear(self) -> None:
        """Remove every stroke."""
        self.strokes.clear()
        self._current = None
        self.update()
        self.cleared.emit()

    def undo_stroke(self) -> None:
        """Remove the last stroke (and tell listeners, so the prediction follows)."""
        if self.strokes:
            self.strokes.pop()
            self.update()
            if self.strokes:
                self.strokeFinished.emit()
            else:
                self.cleared.emit()

    def set_message(self, text: str) -> None:
        """Show ``text`` over the canvas and refuse drawing (for example when the model is missing)."""
        self._message = text
        self.setEnabled(not text)
        self.update()

    def message(self) -> str:
        """Return the message shown instead of drawing ('' when drawing is possible)."""
        return self._message

    def crop(self) -> np.ndarray:
        """Return the current drawing as the model's 28 x 28 crop."""
        return strokes_to_crop(self.strokes)

    def pen_width(self) -> float:
        """On-screen pen width: a fixed share of the canvas, so it looks the same at any size or DPI."""
        return max(3.0, 0.035 * min(self.width(), self.height()))

    # -- input ----------------------------------------------------------------------------------
    def _begin(self, pos: QPointF) -> None:
        if self._message:
            return
        self._current = [(pos.x(), pos.y())]
        self.update()

    def _extend(self, pos: QPointF) -> None:
        if self._current is None:
            return
        last = self._current[-1]
        # Skip sub-pixel jitter: it only adds points, not shape.
        if abs(pos.x() - last[0]) + abs(pos.y() - last[1]) >= 0.75:
            self._current.append((pos.x(), pos.y()))
            self.update()

    def _end(self, pos: QPointF | None) -> None:
        if self._current is None:
            return
        if pos is not None:
            self._extend(pos)
        self.strokes.append(self._current)
        self._current = None
        self.update()
        self.strokeFinished.emit()

    def mousePressEvent(self, event) -> None:  # noqa: D102
        if event.button() == Qt.MouseButton.LeftButton:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self._begin(event.position())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: D102
        if self._current is not None:
            self._extend(event.position())
            event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: D102
        if event.button() == Qt.MouseButton.LeftButton and self._current is not None:
            self._end(event.position())
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def tabletEvent(self, event: QTabletEvent) -> None:  # noqa: D102
        # Accepting tablet events stops Qt from also synthesising mouse events for the pen.
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            self._begin(event.position())
        elif kind == QEvent.Type.TabletMove:
            self._extend(event.position())
        elif kind == QEvent.Type.TabletRelease:
            self._end(event.position())
        event.accept()

    def event(self, event: QEvent) -> bool:  # noqa: D102
        kind = event.type()
        if kind in (QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd):
            points = event.points() if isinstance(event, QTouchEvent) else []
            if points:
                pos = points[0].position()
                if kind == QEvent.Type.TouchBegin:
                    self._begin(pos)
                elif kind == QEvent.Type.TouchUpdate:
                    self._extend(pos)
                else:
                    self._end(pos)
            event.accept()
            return True
        if kind == QEvent.Type.TouchCancel:
            self._current = None
            self.update()
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: D102
        if event.key() == Qt.Key.Key_Escape:
            self.clear()
            event.accept()
        elif event.matches(QKeySequence.StandardKey.Undo):
            self.undo_stroke()
            event.accept()
        else:
            super().keyPressEvent(event)

    # -- drawing --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: D102
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        # A guide box: where a character of a comfortable size goes.
        guide = QPen(palette.color(QPalette.ColorRole.Mid), 1, Qt.PenStyle.DashLine)
        painter.setPen(guide)
        side = min(self.width(), self.height()) * 0.8
        painter.drawRect(QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side))
        if self.hasFocus():
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2))
            painter.drawRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        pen = QPen(palette.color(QPalette.ColorRole.Text), self.pen_width())
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        for s in self.strokes:
            painter.drawPath(stroke_path(s))
        if self._current:
            painter.drawPath(stroke_path(self._current))
        if self._message:
            # The canvas is disabled then, but the message must stay fully readable.
            painter.setPen(palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.WindowText))
            painter.drawText(
                QRectF(self.rect()).adjusted(16, 16, -16, -16),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._message,
            )
        elif self.is_empty():
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Draw a letter or digit here")
        painter.end()
