"""Bundled files are found the same way in a checkout, a PyInstaller bundle and a ``pip install``."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from scanner_app import __main__ as cli
from scanner_app import paths
from scanner_app.core import classifier
from scanner_app.core.errors import ModelError
from tests.conftest import REPO_ROOT

# Every file the app reads through paths.py at run time, relative to the root of assets/ and resources/.
RUNTIME_FILES = [
    Path("assets", "model", classifier.ONNX_FILE),
    Path("assets", "model", classifier.LABELS_FILE),
    Path("assets", "model", classifier.CARD_FILE),
    Path("assets", *cli.SAMPLE_PAGE),
    Path("assets", *cli.SAMPLE_TEXT),
    Path("resources", "icons", "app.png"),
    Path("resources", "icons", "app.ico"),
]


@pytest.fixture
def fresh_lookup(monkeypatch):
    """Run a test outside the checkout: the package's parent is an empty folder, nothing is cached."""
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    paths.installed_data_root.cache_clear()
    yield
    paths.installed_data_root.cache_clear()


def _fake_pip_install(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    """Lay out what `pip install .` leaves in a venv: the package, its dist-info RECORD and the data files.

    Returns (site-packages, <prefix>/share/handwriting-scanner).
    """
    prefix = tmp_path / "venv"
    site = prefix / "lib" / "python3.11" / "site-packages"
    data_root = prefix / "share" / "handwriting-scanner"
    dist_info = site / "handwriting_scanner-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (site / "scanner_app").mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: handwriting-scanner\nVersion: 0.1.0\n")
    record = ["scanner_app/paths.py,,", "handwriting_scanner-0.1.0.dist-info/METADATA,,"]
    for rel in RUNTIME_FILES:
        (data_root / rel).parent.mkdir(parents=True, exist_ok=True)
        (data_root / rel).write_bytes(b"x")
        # pip records data files relative to site-packages, e.g. ../../../share/handwriting-scanner/assets/...
        record.append(f"../../../share/handwriting-scanner/{rel.as_posix()},,")
    (dist_info / "RECORD").write_text("\n".join(record) + "\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(paths, "_SOURCE_ROOT", site)
    return site, data_root


def test_assets_are_found_in_a_source_checkout():
    assert paths.app_root() == REPO_ROOT
    assert paths.model_dir() == REPO_ROOT / "assets" / "model"
    assert paths.resource_path("icons") == REPO_ROOT / "resources" / "icons"
    for rel in RUNTIME_FILES:
        assert (paths.app_root() / rel).is_file(), rel


def test_assets_are_found_inside_a_frozen_bundle(monkeypatch, tmp_path):
    # PyInstaller's sys._MEIPASS is the bundle's _internal/ folder; assets/ and resources/ are mapped there.
    # The bundle wins even over a checkout (this test runs inside one).
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.model_dir() == tmp_path / "assets" / "model"
    assert paths.resource_path("icons", "app.png") == tmp_path / "resources" / "icons" / "app.png"


def test_a_pip_install_is_found_through_its_record(fresh_lookup, monkeypatch, tmp_path):
    _site, data_root = _fake_pip_install(tmp_path, monkeypatch)
    assert paths.app_root() == data_root
    assert paths.model_dir() == data_root / "assets" / "model"
    assert paths.asset_path(*cli.SAMPLE_PAGE).is_file()
    assert paths.resource_path("icons", "app.png") == data_root / "resources" / "icons" / "app.png"


def test_a_frozen_bundle_beats_a_pip_install(fresh_lookup, monkeypatch, tmp_path):
    _fake_pip_install(tmp_path, monkeypatch)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    assert paths.app_root() == tmp_path / "bundle"


def test_an_install_without_record_falls_back_to_the_data_scheme(fresh_lookup, monkeypatch, tmp_path):
    site, data_root = _fake_pip_install(tmp_path, monkeypatch)
    (site / "handwriting_scanner-0.1.0.dist-info" / "RECORD").unlink()  # installers may leave none
    prefix = data_root.parent.parent
    monkeypatch.setattr(paths.sysconfig, "get_path", lambda name, scheme=None: str(prefix))
    assert paths.app_root() == data_root


def test_with_nothing_installed_errors_name_the_package_parent(fresh_lookup, monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "_SOURCE_ROOT", tmp_path)
    monkeypatch.setattr(paths, "DISTRIBUTION", "handwriting-scanner-never-installed")
    monkeypatch.setattr(paths.sysconfig, "get_path", lambda name, scheme=None: str(tmp_path / "prefix"))
    assert paths.model_dir() == tmp_path / "assets" / "model"
    with pytest.raises(ModelError, match="model"):
        classifier.CharClassifier.load()


def test_pyproject_installs_every_runtime_file_under_share():
    """`pip install .` must carry what paths.py looks up (the wheel's data files), and no training model."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data_files = config["tool"]["setuptools"]["data-files"]
    installed = set()
    for target, patterns in data_files.items():
        for pattern in patterns:
            matches = sorted(REPO_ROOT.glob(pattern))
            assert matches, f"{pattern} matches nothing"
            installed.update(Path(target, m.name) for m in matches)
    for rel in RUNTIME_FILES:
        assert Path(*paths.DATA_SUBDIR, rel) in installed, rel
    assert not any(p.suffix == ".keras" for p in installed)


def test_build_spec_ships_the_runtime_files_but_no_training_stack():
    spec = (REPO_ROOT / "build.spec").read_text(encoding="utf-8")
    assert "from scanner_app.__main__ import main" in spec  # the frozen launcher
    for rel in RUNTIME_FILES:
        assert rel.name in spec or f'"{rel.parent.as_posix()}"' in spec, rel
    for excluded in ('"tensorflow"', '"keras"', '"model_training"', '"tests"', '"PySide6.QtQml"'):
        assert excluded in spec
