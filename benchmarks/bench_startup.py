"""Print how long the app takes from launch to its first shown window, and to a loaded model.

Each run starts a fresh Python process (offscreen Qt) that builds the real window the way
``python -m scanner_app`` does, reports when the window has been shown and painted, and when the
model (loaded just after the first paint) is ready. The clock starts before the process is launched,
so interpreter start-up and imports are included.

    python benchmarks/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import sys, time
from PySide6.QtCore import QSettings, QTimer
from scanner_app.gui.app import make_application
from scanner_app.gui.main_window import MainWindow
from scanner_app.gui.settings import AppSettings

app = make_application([])
window = MainWindow(settings=AppSettings(QSettings(sys.argv[1], QSettings.Format.IniFormat)))
window.show()

def shown():
    window.repaint()  # the first frame is on screen
    print("shown", time.time(), flush=True)
    QTimer.singleShot(0, ready)

def ready():
    ok = window.ensure_model()
    print("ready" if ok else "nomodel", time.time(), flush=True)
    window.close()
    app.quit()

QTimer.singleShot(0, shown)
sys.exit(app.exec())
"""


def one_run(settings_file: str) -> tuple[float, float]:
    """Return (seconds to shown window, seconds to loaded model) for one fresh process."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, settings_file],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    marks = dict(
        line.split() for line in out.splitlines() if line.split()[:1] in (["shown"], ["ready"], ["nomodel"])
    )
    if "ready" not in marks:
        raise SystemExit(f"the model did not load: {out}")
    return float(marks["shown"]) - t0, float(marks["ready"]) - t0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = str(Path(tmp) / "settings.ini")
        one_run(settings)  # warm the file cache, as a second launch would be
        runs = [one_run(settings) for _ in range(args.runs)]
    shown = [r[0] for r in runs]
    ready = [r[1] for r in runs]
    print(
        f"launch -> window shown: median {statistics.median(shown):.2f} s, "
        f"min {min(shown):.2f} s ({args.runs} runs)"
    )
    print(f"launch -> model ready:  median {statistics.median(ready):.2f} s, min {min(ready):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
