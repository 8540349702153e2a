"""Pen and touch: the canvas takes strokes from a tablet pen and a touch screen, not only a mouse."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import draw, pick_samples, to_canvas


def mouse_guess(qtbot, window, strokes):
    window.canvas.clear()
    draw(qtbot, window.canvas, strokes)
    return list(window.current_guesses)


def test_user_writes_with_a_finger_on_a_touch_screen(qtbot, window):
    sample = pick_samples(8, "letters")[5]
    expected = mouse_guess(qtbot, window, sample.strokes)
    window.canvas.clear()
    device = QTest.createTouchDevice()
    for stroke in to_canvas(sample.strokes, window.canvas):
        QTest.touchEvent(window.canvas, device).press(0, stroke[0], window.canvas).commit()
        for p in stroke[1:]:
            QTest.touchEvent(window.canvas, device).move(0, p, window.canvas).commit()
        QTest.touchEvent(window.canvas, device).release(0, stroke[-1], window.canvas).commit()
    assert len(window.canvas.strokes) == len(sample.strokes)
    assert [c for c, _ in window.current_guesses] == [c for c, _ in expected]


def tablet_event(kind: QEvent.Type, pos, device, buttons) -> QTabletEvent:
    p = QPointF(pos)
    return QTabletEvent(
        kind,
        device,
        p,
        p,
        0.6,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        Qt.KeyboardModifier.NoModifier,
        Qt.MouseButton.LeftButton,
        buttons,
    )


def test_user_writes_with_a_tablet_pen(qtbot, window):
    sample = pick_samples(8, "digits")[3]
    expected = mouse_guess(qtbot, window, sample.strokes)
    window.canvas.clear()
    pen = QPointingDevice(
        "test pen",
        1,
        QPointingDevice.DeviceType.Stylus,
        QPointingDevice.PointerType.Pen,
        QPointingDevice.Capability.Position | QPointingDevice.Capability.Pressure,
        1,
        3,
    )
    down, up = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for stroke in to_canvas(sample.strokes, window.canvas):
        QApplication.sendEvent(window.canvas, tablet_event(QEvent.Type.TabletPress, stroke[0], pen, down))
        for p in stroke[1:]:
            QApplication.sendEvent(window.canvas, tablet_event(QEvent.Type.TabletMove, p, pen, down))
        QApplication.sendEvent(window.canvas, tablet_event(QEvent.Type.TabletRelease, stroke[-1], pen, up))
    assert len(window.canvas.strokes) == len(sample.strokes)
    assert [c for c, _ in window.current_guesses] == [c for c, _ in expected]
