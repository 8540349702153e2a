"""The architecture's boundaries are checked rules: the core never needs Qt or TensorFlow."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT

CORE_MODULES = [p.stem for p in (REPO_ROOT / "scanner_app" / "core").glob("*.py") if p.stem != "__init__"]


def test_core_imports_without_qt_or_tensorflow():
    # Block PySide6 and TensorFlow outright: any import of them from the core raises ImportError.
    code = (
        "import sys\n"
        "for name in ('PySide6', 'tensorflow', 'keras', 'shiboken6'):\n"
        "    sys.modules[name] = None\n"
        "import importlib\n"
        f"for m in {CORE_MODULES!r}:\n"
        "    importlib.import_module('scanner_app.core.' + m)\n"
        "import scanner_app.paths\n"
        "loaded = [m for m in ('PySide6', 'tensorflow') if sys.modules.get(m) is not None]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_no_qt_import_outside_gui():
    offenders = []
    for path in (REPO_ROOT / "scanner_app").rglob("*.py"):
        rel = path.relative_to(REPO_ROOT).as_posix()
        if rel.startswith("scanner_app/gui/") or rel == "scanner_app/__main__.py":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import PySide6", "from PySide6")):
                offenders.append(rel)
    assert offenders == []


def test_no_tensorflow_in_app():
    offenders = []
    for path in (REPO_ROOT / "scanner_app").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import tensorflow", "from tensorflow", "import keras", "from keras")):
                offenders.append(path.relative_to(REPO_ROOT).as_posix())
    assert offenders == []
