"""Bundled files are found the same way in a checkout and in a PyInstaller bundle."""

from __future__ import annotations

import sys

from scanner_app import paths
from tests.conftest import REPO_ROOT


def test_assets_are_found_in_a_source_checkout():
    assert paths.app_root() == REPO_ROOT
    assert paths.model_dir() == REPO_ROOT / "assets" / "model"
    assert paths.resource_path("icons") == REPO_ROOT / "resources" / "icons"


def test_assets_are_found_inside_a_frozen_bundle(monkeypatch, tmp_path):
    # PyInstaller unpacks (onedir: points) to sys._MEIPASS; assets/ and resources/ are mapped there.
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.model_dir() == tmp_path / "assets" / "model"
    assert paths.resource_path("icons", "app.png") == tmp_path / "resources" / "icons" / "app.png"


def test_build_spec_ships_the_runtime_model_but_no_training_stack():
    spec = (REPO_ROOT / "build.spec").read_text(encoding="utf-8")
    assert "scanner_app" in spec and "__main__.py" in spec
    for name in ("model.onnx", "labels.json", "model_card.json"):
        assert name in spec
    for excluded in ('"tensorflow"', '"model_training"', '"tests"', '"PySide6.QtQml"'):
        assert excluded in spec
