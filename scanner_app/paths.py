"""Where bundled files live, in a source checkout and in a PyInstaller bundle.

This is the only module that knows about ``sys._MEIPASS``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def app_root() -> Path:
    """Return the folder that holds ``assets/`` and ``resources/``."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def asset_path(*parts: str) -> Path:
    """Return a path under ``assets/`` (the model and other data the core needs)."""
    return app_root().joinpath("assets", *parts)


def resource_path(*parts: str) -> Path:
    """Return a path under ``resources/`` (icons, style sheets: GUI only)."""
    return app_root().joinpath("resources", *parts)


def model_dir() -> Path:
    """Return the folder of the bundled character model."""
    return asset_path("model")
