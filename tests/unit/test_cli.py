"""The command line: scanning, output files, JSON, and one-line errors for every user mistake."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import scanner_app.__main__ as cli
from scanner_app.__main__ import PAGE_SEPARATOR, main
from tests.conftest import REPO_ROOT, damage_tiff_page
from tests.pagegen import cer


@pytest.fixture
def page(test_data):
    return test_data / "pages" / "page00_clean.png"


@pytest.fixture
def truth(test_data):
    return (test_data / "pages" / "page00_clean.txt").read_text(encoding="utf-8").strip()


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_scan_prints_text(capsys, page, truth):
    assert main(["scan", str(page)]) == 0
    out = capsys.readouterr().out
    assert cer(truth.lower(), out.strip().lower()) <= 0.3


def test_scan_to_file_and_json(tmp_path, capsys, page):
    out = tmp_path / "result.txt"
    assert main(["scan", str(page), "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    text = out.read_text(encoding="utf-8")
    assert text.strip()
    assert main(["scan", str(page), "--json", "--no-dictionary"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"text", "lines", "page_size", "notes", "source"}
    chars = [c for ln in data["lines"] for c in ln["chars"]]
    assert len(chars) == sum(1 for ch in data["text"] if not ch.isspace())
    for c in chars:
        x, y, w, h = c["box"]
        assert 0 <= x and 0 <= y and x + w <= data["page_size"][0] and y + h <= data["page_size"][1]
        assert 0 <= c["confidence"] <= 1 and 1 <= len(c["alternatives"]) <= 3


def test_several_images_into_a_folder(tmp_path, capsys, test_data):
    pages = [test_data / "pages" / "page00_clean.png", test_data / "pages" / "page01_photo.jpg"]
    out_dir = tmp_path / "new" / "texts"  # created on demand
    assert main(["scan", *map(str, pages), "--out-dir", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["page00_clean.txt", "page01_photo.txt"]
    assert main(["scan", *map(str, pages), "--out-dir", str(out_dir), "--json"]) == 0
    assert json.loads((out_dir / "page01_photo.json").read_text(encoding="utf-8"))["text"]


def test_multi_page_tiff_pages_are_separated(tmp_path, capsys, test_data):
    img = Image.open(test_data / "pages" / "page00_clean.png")
    tiff = tmp_path / "two.tiff"
    img.save(tiff, save_all=True, append_images=[img.copy()])
    assert main(["scan", str(tiff), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list) and len(data) == 2 and data[0]["text"] == data[1]["text"]
    assert main(["scan", str(tiff)]) == 0
    out = capsys.readouterr().out
    assert out.count(PAGE_SEPARATOR) == 1


def test_stdout_matches_the_output_file_when_the_last_page_is_blank(tmp_path, capsys, test_data):
    img = Image.open(test_data / "pages" / "page00_clean.png").convert("L")
    blank = Image.new("L", img.size, 255)
    tiff = tmp_path / "two.tiff"
    img.save(tiff, save_all=True, append_images=[blank])
    out_file = tmp_path / "two.txt"
    assert main(["scan", str(tiff), "-o", str(out_file)]) == 0
    written = out_file.read_text(encoding="utf-8")
    assert written.endswith(PAGE_SEPARATOR + "\n") and written.strip()
    capsys.readouterr()
    assert main(["scan", str(tiff)]) == 0
    assert capsys.readouterr().out == written


def test_empty_page_is_success_with_a_note(tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((400, 600), 255, np.uint8)).save(blank)
    assert main(["scan", str(blank)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "note:" in captured.err and "blank.png" in captured.err


def _text_file(d):
    (d / "x.txt").write_text("hello", encoding="utf-8")
    return d / "x.txt"


def _empty_file(d):
    (d / "e.png").write_bytes(b"")
    return d / "e.png"


@pytest.mark.parametrize(
    ("make", "code", "needle"),
    [
        (lambda d: d / "missing.png", 2, "no such file"),
        (lambda d: d, 2, "folder"),
        (_text_file, 2, "not an image"),
        (_empty_file, 2, "empty"),
    ],
    ids=["missing", "folder", "text-file", "empty-file"],
)
def test_bad_input_is_one_line(tmp_path, capsys, make, code, needle):
    path = make(tmp_path)
    assert main(["scan", str(path)]) == code
    line = _one_line_error(capsys.readouterr().err)
    assert line.startswith("error: ") and needle in line


def test_batch_goes_on_after_a_bad_file(tmp_path, capsys, page):
    out_dir = tmp_path / "out"
    code = main(["scan", str(tmp_path / "missing.png"), str(page), "--out-dir", str(out_dir)])
    assert code == 2
    assert (out_dir / "page00_clean.txt").read_text(encoding="utf-8").strip()
    assert "missing.png" in capsys.readouterr().err


def test_output_errors(tmp_path, capsys, page):
    assert main(["scan", str(page), "-o", str(tmp_path / "no" / "such" / "dir" / "x.txt")]) == 5
    assert "does not exist" in _one_line_error(capsys.readouterr().err)
    assert main(["scan", str(page), str(page), "-o", str(tmp_path / "x.txt")]) == 5
    assert "--out-dir" in _one_line_error(capsys.readouterr().err)
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    assert main(["scan", str(page), "--out-dir", str(tmp_path / "afile")]) == 5
    _one_line_error(capsys.readouterr().err)


def test_disk_full_keeps_the_old_output(tmp_path, capsys, page, monkeypatch):
    from scanner_app.core import textio

    out = tmp_path / "keep.txt"
    out.write_text("previous result\n", encoding="utf-8")

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(textio.os, "fsync", full)  # the injected fault
    assert main(["scan", str(page), "-o", str(out)]) == 5
    assert "disk is full" in _one_line_error(capsys.readouterr().err)
    assert out.read_text(encoding="utf-8") == "previous result\n"


def test_usage_errors_are_one_line(capsys):
    assert main(["scan"]) == 2
    _one_line_error(capsys.readouterr().err)
    assert main(["scan", "x.png", "--charset", "greek"]) == 2
    _one_line_error(capsys.readouterr().err)
    assert main(["--bogus"]) == 2
    _one_line_error(capsys.readouterr().err)


def test_broken_model_is_named(tmp_path, capsys, page, monkeypatch):
    broken = tmp_path / "model"
    shutil.copytree(REPO_ROOT / "assets" / "model", broken)
    onnx = broken / "model.onnx"
    onnx.write_bytes(onnx.read_bytes()[:1000])  # truncated model file
    monkeypatch.setenv("HWS_MODEL_DIR", str(broken))
    assert main(["scan", str(page)]) == 4
    line = _one_line_error(capsys.readouterr().err)
    assert "model.onnx" in line
    (broken / "model_card.json").unlink()
    assert main(["--model-dir", str(broken), "scan", str(page)]) == 4
    assert "model_card.json" in _one_line_error(capsys.readouterr().err)
    monkeypatch.setenv("HWS_MODEL_DIR", str(tmp_path / "nowhere"))
    assert main(["--self-test"]) == 4
    assert "nowhere" in _one_line_error(capsys.readouterr().err)


def test_internal_error_is_one_line_with_exit_70(capsys, page, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("something broke\nsecond line")

    monkeypatch.setattr("scanner_app.core.pipeline.run_scan", boom)  # an injected bug
    monkeypatch.delenv("HWS_DEBUG", raising=False)
    assert main(["scan", str(page)]) == 70
    line = _one_line_error(capsys.readouterr().err)
    assert line.startswith("internal error: RuntimeError: something broke")
    monkeypatch.setenv("HWS_DEBUG", "1")
    assert main(["scan", str(page)]) == 70
    assert "Traceback" in capsys.readouterr().err


def test_version_and_self_test(capsys):
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("handwriting-scanner ") and "36 classes" in out and "test accuracy" in out
    # The summary quotes the card's held-out figures, letter-or-digit-known first.
    card = json.loads((REPO_ROOT / "assets" / "model" / "model_card.json").read_text(encoding="utf-8"))
    for name, acc in card["test_accuracy_charset"].items():
        assert f"{name} {acc * 100:.1f}% (36-way {card['test_accuracy'][name] * 100:.1f}%)" in out
    assert main(["--self-test"]) == 0
    assert capsys.readouterr().out.startswith("OK")


def test_self_test_fails_on_a_wrong_sample(capsys, monkeypatch, tmp_path):
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("completely different words here\n", encoding="utf-8")
    monkeypatch.setattr(cli, "SAMPLE_TEXT", (str(wrong),))  # an absolute part wins in asset_path
    assert main(["--self-test"]) == 1
    assert "FAILED" in _one_line_error(capsys.readouterr().err)


def test_no_arguments_opens_the_gui(monkeypatch):
    import types

    fake = types.ModuleType("scanner_app.gui.app")
    seen = []
    fake.run = lambda argv=None, open_path=None: seen.append(open_path) or 0
    monkeypatch.setitem(sys.modules, "scanner_app.gui.app", fake)
    assert main([]) == 0 and seen == [None]


def test_a_lone_file_opens_in_the_gui(monkeypatch, capsys, page, tmp_path):
    """`handwriting-scanner page.png` (a desktop "Open with") opens the window on that file."""
    import types

    fake = types.ModuleType("scanner_app.gui.app")
    seen = []
    fake.run = lambda argv=None, open_path=None: seen.append(open_path) or 0
    monkeypatch.setitem(sys.modules, "scanner_app.gui.app", fake)
    assert main([str(page)]) == 0 and seen == [Path(page)]
    # a page that is gone still opens the window, which then says what is wrong
    assert main([str(tmp_path / "gone.jpg")]) == 0 and seen[-1] == tmp_path / "gone.jpg"
    # a mistyped command is a usage error, not a window
    assert main(["sacn"]) == 2 and len(seen) == 2
    assert "invalid choice" in _one_line_error(capsys.readouterr().err)
    assert main(["scan"]) == 2 and len(seen) == 2


def test_module_entry_point_in_a_subprocess(tmp_path, page):
    """The real `python -m scanner_app`, with a non-ASCII output name."""
    out = tmp_path / "résultat.txt"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "scanner_app", "scan", str(page), "-o", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8").strip()
    proc = subprocess.run(
        [sys.executable, "-m", "scanner_app", "scan", str(tmp_path / "nope.png")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


def _cmyk_jpeg(d):
    path = d / "cmyk.jpg"
    Image.new("CMYK", (60, 40), (0, 0, 0, 30)).save(path)
    return path


def _animated_gif(d):
    path = d / "anim.gif"
    frames = [Image.new("L", (50, 50), v) for v in (255, 0)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    return path


def _bomb(d):
    from tests.unit.test_image_io import _png_with_header

    path = d / "bomb.png"
    _png_with_header(path, 60_000, 60_000)
    return path


def _truncated(d):
    path = d / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 120), dtype=np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:300])
    return path


def _encrypted_pdf(d):
    from tests.unit.test_image_io import _minimal_pdf

    enc = (
        b"/Encrypt << /Filter /Standard /V 1 /R 2 /O <" + b"00" * 32 + b"> /U <" + b"11" * 32 + b"> /P -4 >> "
    )
    enc += b"/ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] "
    path = d / "locked.pdf"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]
    objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>")
    path.write_bytes(_minimal_pdf(objs, enc))
    return path


def _shape(w, h):
    def make(d):
        path = d / f"s{w}x{h}.png"
        Image.fromarray(np.full((h, w), 255, np.uint8)).save(path)
        return path

    return make


@pytest.mark.parametrize(
    ("make", "ok"),
    [
        (_cmyk_jpeg, True),
        (_animated_gif, True),
        (_shape(1, 1), True),
        (_shape(3, 20000), True),
        (_bomb, False),
        (_truncated, False),
        (_encrypted_pdf, False),
    ],
    ids=["cmyk", "animated", "1x1", "3x20000", "bomb", "truncated", "encrypted-pdf"],
)
def test_odd_files_through_the_cli(tmp_path, capsys, make, ok):
    path = make(tmp_path)
    code = main(["scan", str(path)])
    err = capsys.readouterr().err
    if ok:
        assert code == 0, err  # an odd but valid image: scanned (here: empty, with a note)
    else:
        assert code == 2
        assert path.name in _one_line_error(err)


def test_a_damaged_page_of_a_tiff_loses_only_itself(tmp_path, capsys, test_data, classifier):
    from scanner_app.core.errors import InputImageError
    from scanner_app.core.image_io import load_pages
    from scanner_app.core.pipeline import run_scan

    names = ("page00_clean.png", "page01_clean.png", "page00_photo.jpg")
    pics = [Image.open(test_data / "pages" / n).convert("L") for n in names]
    path = tmp_path / "three.tif"
    pics[0].save(path, save_all=True, append_images=pics[1:], compression="tiff_lzw")
    expected = [run_scan(page, classifier).text for page in load_pages(path)]
    damage_tiff_page(path, 1)
    out = tmp_path / "three.txt"
    assert main(["scan", str(path), "-o", str(out)]) == InputImageError.exit_code
    err = _one_line_error(capsys.readouterr().err)
    assert err.startswith("error: ") and "page 2 is damaged" in err
    assert expected[0] and expected[2]
    assert out.read_text(encoding="utf-8") == PAGE_SEPARATOR.join([expected[0], "", expected[2]]) + "\n"
