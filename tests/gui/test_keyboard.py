"""Keyboard users: every control has its own mnemonic, modes and actions have shortcuts."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel

from tests.gui.conftest import draw, pick_samples


def mnemonic(text: str) -> str | None:
    match = re.search(r"&([^&])", text)
    return match.group(1).lower() if match else None


def visible_mnemonics(window) -> list[str]:
    keys = [mnemonic(a.text()) for a in window.menuBar().actions()]
    for widget in window.findChildren(QAbstractButton):
        if widget.isVisible():
            keys.append(mnemonic(widget.text()))
    for label in window.findChildren(QLabel):
        if label.isVisible() and label.buddy() is not None:  # only a label with a buddy has a mnemonic
            keys.append(mnemonic(label.text()))
    return [k for k in keys if k]


def test_each_visible_control_has_its_own_mnemonic_in_both_modes(qtbot, window):
    for mode in (window.draw_mode_action, window.scan_mode_action):
        mode.trigger()
        keys = visible_mnemonics(window)
        assert len(keys) == len(set(keys)), " ".join(sorted(keys))
        assert len(keys) >= 8


def test_user_switches_modes_with_ctrl_1_and_ctrl_2(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.scan_page
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.draw_page
    assert window.canvas.hasFocus()


def test_user_picks_digits_with_alt_i_and_adds_a_space_by_keyboard(qtbot, window):
    window.draw_mode_action.trigger()
    qtbot.keyClick(window, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: window.charset() == "digits", timeout=2000)  # a mnemonic "animates" its click
    sample = pick_samples(5, "digits")[0]
    draw(qtbot, window.canvas, sample.strokes)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: len(window.editor.toPlainText()) == 2, timeout=2000)
    text = window.editor.toPlainText()
    assert len(text) == 2 and text[0].isdigit() and text[1] == " "


def test_tab_moves_from_the_canvas_through_the_draw_controls(qtbot, window):
    window.canvas.setFocus()
    order = []
    widget = window.canvas
    for _ in range(8):
        widget = widget.nextInFocusChain()
        order.append(widget.objectName())
    assert order.index("acceptButton") < order.index("clearButton")
