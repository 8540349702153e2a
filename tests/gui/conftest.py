"""GUI test fixtures: an isolated settings file, answered dialogs, the real window, replayed pen strokes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QSettings, Qt  # noqa: E402

from scanner_app.gui import dialogs  # noqa: E402
from scanner_app.gui.settings import AppSettings  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "data"
STROKES = DATA / "strokes_sample.npz"  # UNIPEN test writers' pen trajectories (committed by the core work)
CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # y_byclass order


@dataclass
class DialogAnswers:
    """Stands in for every dialog: records what the app asked and answers as a test says."""

    unsaved_answer: str = dialogs.DISCARD
    save_path: str | None = None
    open_path: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    infos: list[tuple[str, str]] = field(default_factory=list)
    unsaved_prompts: int = 0
    abouts: list[tuple[dict | None, str | None]] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(
            dialogs, "show_error", lambda parent, title, msg: self.errors.append((title, msg))
        )
        monkeypatch.setattr(dialogs, "show_info", lambda parent, title, msg: self.infos.append((title, msg)))
        monkeypatch.setattr(dialogs, "show_crash", lambda parent, details: self.crashes.append(details))
        monkeypatch.setattr(dialogs, "ask_unsaved_changes", self._ask)
        monkeypatch.setattr(dialogs, "get_save_path", lambda parent, suggestion: self.save_path)
        monkeypatch.setattr(dialogs, "get_open_path", lambda parent, folder: self.open_path)
        monkeypatch.setattr(
            dialogs, "show_about", lambda parent, card, problem=None: self.abouts.append((card, problem))
        )

    def _ask(self, parent, what: str = "") -> str:
        self.unsaved_prompts += 1
        return self.unsaved_answer


@pytest.fixture
def answers(monkeypatch) -> DialogAnswers:
    """All dialogs answered without showing anything; look at what was asked afterwards."""
    a = DialogAnswers()
    a.install(monkeypatch)
    return a


@pytest.fixture
def settings(tmp_path) -> AppSettings:
    """Settings in a throw-away INI file: tests never touch the user's settings."""
    return AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def assert_no_thread_left(window) -> None:
    """Fail if a scan thread is still alive."""
    assert not window.runner.is_running(), "a scan thread is still running after the test"


@pytest.fixture
def make_window(qtbot, settings, answers, classifier):
    """Build real main windows (with the real model unless told otherwise) and clean them up."""
    from scanner_app.gui.main_window import MainWindow

    made = []

    def make(**kwargs):
        kwargs.setdefault("settings", settings)
        if "model_dir" not in kwargs:
            kwargs.setdefault("classifier", classifier)
        window = MainWindow(**kwargs)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        if window.runner.is_running():
            window.runner.cancel()
            qtbot.waitUntil(lambda w=window: not w.runner.is_running(), timeout=20_000)
        assert_no_thread_left(window)
        window.editor.document().setModified(False)  # the test is over: no prompt on close
        window.close()


@pytest.fixture
def window(make_window):
    """The real main window with the real model and isolated settings."""
    return make_window()


# -- pen trajectories ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One written character: its label and its strokes (lists of (x, y) points, y down)."""

    char: str
    strokes: tuple[np.ndarray, ...]
    writer: str


def load_samples() -> list[Sample]:
    """Every committed test-writer trajectory, in file order."""
    with np.load(STROKES) as d:
        points, stroke_len, nstrokes = d["points"], d["stroke_len"], d["form_nstrokes"]
        labels, writers = d["y_byclass"], d["writer"]
    strokes = np.split(points.astype(np.float64), np.cumsum(stroke_len)[:-1])
    per_sample = np.split(np.arange(len(stroke_len)), np.cumsum(nstrokes)[:-1])
    return [
        Sample(CHARS[int(labels[i])], tuple(strokes[j] for j in idx), str(writers[i]))
        for i, idx in enumerate(per_sample)
    ]


def pick_samples(count: int, kinds: str = "all") -> list[Sample]:
    """A fixed, evenly spread choice of samples (no cherry-picking): every n-th one of a kind."""
    samples = load_samples()
    if kinds == "digits":
        samples = [s for s in samples if s.char.isdigit()]
    elif kinds == "letters":
        samples = [s for s in samples if s.char.isalpha()]
    step = max(1, len(samples) // count)
    return samples[::step][:count]


def to_canvas(strokes, canvas, fill: float = 0.7, max_points: int = 40) -> list[list[QPoint]]:
    """Scale strokes into the canvas (aspect kept, centred) and thin them to at most ``max_points`` each."""
    pts = np.concatenate(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    size = max(float((hi - lo).max()), 1.0)
    side = fill * min(canvas.width(), canvas.height())
    scale = side / size
    centre = np.array([canvas.width() / 2, canvas.height() / 2])
    out = []
    for s in strokes:
        if len(s) > max_points:
            s = s[np.linspace(0, len(s) - 1, max_points).round().astype(int)]
        xy = (s - (lo + hi) / 2) * scale + centre
        out.append([QPoint(int(round(x)), int(round(y))) for x, y in xy])
    return out


def draw(qtbot, canvas, strokes) -> None:
    """Draw strokes on the canvas with real mouse events: press, move along, release (pen-up)."""
    for stroke in to_canvas(strokes, canvas):
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=stroke[0])
        for p in stroke[1:]:
            qtbot.mouseMove(canvas, p)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=stroke[-1])


def top_char(window) -> str:
    """The first character of the prediction label (the top guess)."""
    return window.prediction_label.text()[:1]
