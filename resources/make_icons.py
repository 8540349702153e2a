"""Draw the application icon with QPainter and write resources/icons/app.png, app.ico and app.icns.

Run: ``python resources/make_icons.py`` (needs PySide6 and Pillow). The outputs are committed.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPainterPath, QPen  # noqa: E402

HERE = Path(__file__).resolve().parent
SIZE = 256


def draw_icon(size: int = SIZE) -> QImage:
    """Draw the icon: a blue tile, a sheet of paper with a handwritten 'a', and a scan line."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 256.0
    p.scale(s, s)

    tile = QPainterPath()
    tile.addRoundedRect(QRectF(8, 8, 240, 240), 52, 52)
    grad = QLinearGradient(0, 8, 0, 248)
    grad.setColorAt(0.0, QColor(58, 123, 213))
    grad.setColorAt(1.0, QColor(31, 64, 145))
    p.fillPath(tile, grad)

    # The page, slightly tilted like a photographed sheet.
    p.save()
    p.translate(128, 132)
    p.rotate(-6)
    paper = QPainterPath()
    paper.addRoundedRect(QRectF(-70, -88, 140, 176), 10, 10)
    p.fillPath(paper.translated(4, 6), QColor(0, 0, 0, 60))
    p.fillPath(paper, QColor(252, 252, 248))
    p.setPen(QPen(QColor(200, 210, 230), 3))
    for y in (-40, 0, 40):
        p.drawLine(QPointF(-54, y + 22), QPointF(54, y + 22))

    # A handwritten "a" and a tail, in ink blue.
    ink = QPen(QColor(25, 35, 90), 11, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    ink.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(ink)
    a = QPainterPath()
    a.moveTo(8, -22)
    a.cubicTo(-2, -40, -44, -34, -42, 2)
    a.cubicTo(-40, 30, -4, 26, 8, -4)
    a.moveTo(10, -30)
    a.cubicTo(8, -6, 6, 14, 22, 22)
    p.drawPath(a)
    tail = QPainterPath()
    tail.moveTo(30, 14)
    tail.cubicTo(38, -4, 50, -10, 52, 6)
    p.setPen(QPen(QColor(25, 35, 90), 8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.drawPath(tail)
    p.restore()

    # The scan line: a bright bar with a glow.
    glow = QLinearGradient(0, 150, 0, 186)
    glow.setColorAt(0.0, QColor(80, 230, 160, 0))
    glow.setColorAt(0.5, QColor(80, 230, 160, 150))
    glow.setColorAt(1.0, QColor(80, 230, 160, 0))
    p.fillRect(QRectF(30, 150, 196, 36), glow)
    p.setPen(QPen(QColor(60, 220, 140), 6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.drawLine(QPointF(34, 168), QPointF(222, 168))
    p.end()
    return image


def main() -> None:
    """Write the PNG, ICO and ICNS files."""
    app = QGuiApplication.instance() or QGuiApplication([])
    out = HERE / "icons"
    out.mkdir(exist_ok=True)
    png = out / "app.png"
    draw_icon(SIZE).save(str(png))
    big = Image.open(png).convert("RGBA")
    sizes = [(n, n) for n in (16, 24, 32, 48, 64, 128, 256)]
    big.save(out / "app.ico", sizes=sizes)
    big.save(out / "app.icns")
    del app
    for f in sorted(out.iterdir()):
        print(f.name, f.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
