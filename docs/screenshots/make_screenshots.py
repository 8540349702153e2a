"""Grab the real window offscreen in each mode and save docs/screenshots/{draw,scan,scan-dark}.png.

Run from the repository root: ``python docs/screenshots/make_screenshots.py``.
The drawing is a committed UNIPEN test-writer trajectory replayed with mouse events; the scan is the
committed test page ``tests/data/gui_page.png``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from scanner_app.gui.app import make_application  # noqa: E402
from scanner_app.gui.main_window import MainWindow  # noqa: E402
from scanner_app.gui.settings import AppSettings  # noqa: E402
from tests.gui.conftest import load_samples, to_canvas  # noqa: E402

OUT = Path(__file__).resolve().parent
SIZE = (1180, 720)


def dark_palette() -> QPalette:
    """Return a typical dark system palette."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: QColor(45, 45, 48),
        QPalette.ColorRole.WindowText: QColor(230, 230, 230),
        QPalette.ColorRole.Base: QColor(30, 30, 30),
        QPalette.ColorRole.AlternateBase: QColor(55, 55, 58),
        QPalette.ColorRole.Text: QColor(235, 235, 235),
        QPalette.ColorRole.Button: QColor(60, 60, 64),
        QPalette.ColorRole.ButtonText: QColor(230, 230, 230),
        QPalette.ColorRole.Highlight: QColor(42, 130, 218),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.PlaceholderText: QColor(150, 150, 150),
        QPalette.ColorRole.Mid: QColor(110, 110, 110),
    }
    roles[QPalette.ColorRole.Light] = QColor(90, 90, 95)
    roles[QPalette.ColorRole.Midlight] = QColor(75, 75, 80)
    roles[QPalette.ColorRole.Dark] = QColor(25, 25, 25)
    roles[QPalette.ColorRole.Shadow] = QColor(10, 10, 10)
    for role, colour in roles.items():
        p.setColor(role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return p


def wait_idle(window: MainWindow) -> None:
    """Run the event loop until the scan thread has stopped."""
    loop = QEventLoop()
    window.runner.idle.connect(loop.quit)
    QTimer.singleShot(120_000, loop.quit)
    loop.exec()


def smooth(stroke: np.ndarray, width: int = 5) -> np.ndarray:
    """Average away the tablet's coarse steps (its raw units get enlarged ~5x on the canvas)."""
    if len(stroke) <= width:
        return stroke
    kernel = np.ones(width) / width
    padded = np.pad(stroke, ((width // 2, width // 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], axis=1)


def draw_word(window: MainWindow, chars: str) -> None:
    """Write ``chars`` letter by letter (drawn, then Enter); leave the last one on the canvas."""
    samples = load_samples()
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    for i, ch in enumerate(chars):
        # A legible sample of the letter: the first one the model reads as it with 90 % or more.
        for sample in (s for s in samples if s.char.upper() == ch):
            window.canvas.clear()
            for stroke in to_canvas([smooth(st) for st in sample.strokes], window.canvas, fill=0.62):
                QTest.mousePress(window.canvas, left, none, stroke[0])
                for p in stroke[1:]:
                    QTest.mouseMove(window.canvas, p)
                QTest.mouseRelease(window.canvas, left, none, stroke[-1])
            top, p = window.current_guesses[0]
            if top == ch and p >= 0.9:
                break
        if i < len(chars) - 1:
            window.accept_prediction()


def main() -> None:
    """Make the screenshots."""
    app = make_application([])
    with tempfile.TemporaryDirectory() as tmp:
        store = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=AppSettings(store))
        window.resize(*SIZE)
        window.show()
        app.processEvents()
        window.ensure_model()
        draw_word(window, "WRITE")
        app.processEvents()
        window.grab().save(str(OUT / "draw.png"))

        window.editor.document().setModified(False)
        window.open_file(ROOT / "tests" / "data" / "gui_page.png")
        wait_idle(window)
        window.editor.setFocus()
        index = len(window.page_view.boxes) // 3
        window.editor.select_char(index)
        app.processEvents()
        window.grab().save(str(OUT / "scan.png"))

        app.setPalette(dark_palette())
        window.editor._update_highlights()
        app.processEvents()
        window.grab().save(str(OUT / "scan-dark.png"))
        window.draw_mode_action.trigger()
        app.processEvents()
        window.grab().save(str(OUT / "draw-dark.png"))
        window.editor.document().setModified(False)
        window.close()
    for name in ("draw.png", "scan.png", "scan-dark.png", "draw-dark.png"):
        print(OUT / name, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
