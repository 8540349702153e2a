"""Where bundled files live: in a PyInstaller bundle, a source checkout, or a ``pip install``.

This is the only module that knows about ``sys._MEIPASS``. ``assets/`` (the model, the self-test page)
and ``resources/`` (icons) sit under one root folder, looked up in this order:

1. a frozen bundle: ``sys._MEIPASS`` (``build.spec`` maps both folders there);
2. a source checkout (also ``pip install -e .``): the folder above the ``scanner_app`` package;
3. a plain ``pip install .``: ``<prefix>/share/handwriting-scanner``, where the wheel's data files go
   (``[tool.setuptools.data-files]`` in ``pyproject.toml``), found through the installed files' record,
   so ``--user``, ``--prefix`` and venv installs all work.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path

DISTRIBUTION = "handwriting-scanner"
DATA_SUBDIR = ("share", "handwriting-scanner")  # under the install prefix (the wheel's data scheme)
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _is_source_checkout(root: Path) -> bool:
    # pyproject.toml next to assets/ marks the repository; site-packages (a wheel's parent) has none.
    return (root / "pyproject.toml").is_file() and (root / "assets").is_dir()


@lru_cache(maxsize=1)
def installed_data_root() -> Path | None:
    """Return ``<prefix>/share/handwriting-scanner`` of a ``pip install``, or ``None`` if there is none.

    The distribution's record says exactly where pip put the data files; the data folders of the default
    and the user install schemes are the fall-back for installers that leave no record.
    """
    from importlib import metadata

    try:
        files = metadata.distribution(DISTRIBUTION).files or []
    except metadata.PackageNotFoundError:
        files = []
    marker = len(DATA_SUBDIR)
    for f in files:
        parts = f.parts
        for i in range(len(parts) - marker):
            if parts[i : i + marker] == DATA_SUBDIR and parts[i + marker] in ("assets", "resources"):
                # normpath, not resolve(): fold the record's "../" without following symlinks.
                root = Path(os.path.normpath(f.locate())).parents[len(parts) - i - marker - 1]
                if root.is_dir():
                    return root
    schemes = [sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user")]
    for scheme in schemes:
        root = Path(sysconfig.get_path("data", scheme)).joinpath(*DATA_SUBDIR)
        if (root / "assets").is_dir():
            return root
    return None


def app_root() -> Path:
    """Return the folder that holds ``assets/`` and ``resources/`` (the order: see the module docstring)."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    if _is_source_checkout(_SOURCE_ROOT):
        return _SOURCE_ROOT
    # A pip install; failing that, the package's parent, so errors still name a concrete (missing) path.
    return installed_data_root() or _SOURCE_ROOT


def asset_path(*parts: str) -> Path:
    """Return a path under ``assets/`` (the model and other data the core needs)."""
    return app_root().joinpath("assets", *parts)


def resource_path(*parts: str) -> Path:
    """Return a path under ``resources/`` (icons, style sheets: GUI only)."""
    return app_root().joinpath("resources", *parts)


def model_dir() -> Path:
    """Return the folder of the bundled character model."""
    return asset_path("model")
