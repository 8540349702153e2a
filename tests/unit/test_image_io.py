"""Loading pages: every format and pixel mode, and a clear refusal for everything else."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from scanner_app.core import image_io
from scanner_app.core.errors import InputImageError
from scanner_app.core.image_io import load_page, load_pages, page_from_array
from tests.conftest import damage_tiff_page


def _gradient(w: int = 120, h: int = 80) -> np.ndarray:
    """A grey test picture with a dark block at the top-left (so orientation is checkable)."""
    a = np.full((h, w), 230, np.uint8)
    a[5:25, 5:45] = 20
    return a


def _png_with_header(path: Path, width: int, height: int) -> None:
    """Write a PNG whose header declares width x height but holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp", "webp", "tiff", "gif"])
def test_common_formats_load_as_grey(tmp_path, ext):
    a = _gradient()
    path = tmp_path / f"page.{ext}"
    Image.fromarray(a).convert("RGB").save(path)
    page = load_page(path)
    assert page.pixels.dtype == np.uint8 and page.pixels.shape == a.shape
    assert page.scale == 1.0 and page.original_size == (120, 80)
    # The dark block is still dark and the paper still light (lossy formats allowed some slack).
    assert page.pixels[10:20, 10:40].mean() < 60 and page.pixels[50:, 60:].mean() > 200


HEIC_DIR = Path(__file__).resolve().parents[1] / "data" / "heic"  # written by make_samples.py there


def test_heic_with_another_extension_is_recognised(tmp_path):
    """A HEIC file named .jpg (some phones' exports) is still read: the opener is registered on demand."""
    pytest.importorskip("pi_heif")
    path = tmp_path / "photo.jpg"
    path.write_bytes((HEIC_DIR / "gradient.heic").read_bytes())
    assert load_page(path).pixels.shape == (80, 120)


def test_heic_loads():
    pytest.importorskip("pi_heif")  # the decoder the app ships (it cannot write HEIC: samples are committed)
    page = load_page(HEIC_DIR / "gradient.heic")
    assert page.pixels.dtype == np.uint8 and page.pixels.shape == (80, 120)
    assert page.scale == 1.0 and page.original_size == (120, 80)
    assert page.pixels[10:20, 10:40].mean() < 60 and page.pixels[50:, 60:].mean() > 200


def test_heic_page_matches_its_png():
    """A phone-style HEIC of the self-test page decodes to the same page as the PNG (up to lossy coding)."""
    pytest.importorskip("pi_heif")
    heic = load_page(HEIC_DIR / "sample_page.heic").pixels.astype(np.int16)
    png = load_page(Path(__file__).resolve().parents[2] / "assets" / "samples" / "sample_page.png")
    assert heic.shape == png.pixels.shape
    diff = np.abs(heic - png.pixels)
    assert diff.mean() < 1 and diff.max() < 16  # measured: mean 0.03, max 6 at quality 80


@pytest.mark.parametrize(
    "mode",
    ["L", "RGB", "RGBA", "LA", "P", "PA", "CMYK", "1", "I;16", "I", "F"],
)
def test_any_pixel_mode(tmp_path, mode):
    a = _gradient()
    if mode == "I;16":
        img = Image.fromarray(a.astype(np.uint16) * 257)  # 16-bit grey
    elif mode == "I":
        img = Image.fromarray(a.astype(np.uint16) * 257).convert("I")  # 32-bit integer
    elif mode == "F":
        img = Image.fromarray(a.astype(np.float32) / 255.0, mode="F")
    else:
        img = Image.fromarray(a).convert(mode)
    path = tmp_path / ("page.tiff" if mode in ("F", "I", "CMYK", "PA") else "page.png")
    img.save(path)
    page = load_page(path)
    assert page.pixels.dtype == np.uint8 and page.pixels.shape == (80, 120)
    assert page.pixels[10:20, 10:40].mean() < 80, mode
    assert page.pixels[50:, 60:].mean() > 180, mode


def test_transparency_is_composited_over_white(tmp_path):
    rgba = np.zeros((40, 40, 4), np.uint8)  # fully transparent black...
    rgba[10:20, 10:20] = (0, 0, 0, 255)  # ...except one opaque black square
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    px = load_page(path).pixels
    assert px[0, 0] == 255 and px[15, 15] == 0


def test_exif_orientation_is_applied(tmp_path):
    a = _gradient(120, 80)
    img = Image.fromarray(a).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif.tobytes())
    page = load_page(path)
    assert page.pixels.shape == (120, 80)  # turned upright
    assert page.original_size == (80, 120)
    # The dark block (top-left in the stored pixels) is at the top-right once turned.
    assert page.pixels[5:45, -25:-5].mean() < 80


def test_multi_page_tiff_gives_every_page(tmp_path):
    pages = [Image.fromarray(np.full((50, 60), v, np.uint8)) for v in (10, 128, 250)]
    path = tmp_path / "multi.tiff"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    loaded = load_pages(path)
    assert [p.page_index for p in loaded] == [0, 1, 2]
    assert [int(p.pixels.mean()) for p in loaded] == [10, 128, 250]
    assert load_page(path).pixels.mean() == pytest.approx(10, abs=1)


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.fromarray(np.full((30, 30), v, np.uint8)).convert("P") for v in (0, 255)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    loaded = load_pages(path)
    assert len(loaded) == 1 and loaded[0].pixels.mean() < 10


def test_pdf_pages_are_rendered(tmp_path):
    imgs = [Image.fromarray(_gradient()).convert("RGB"), Image.fromarray(255 - _gradient()).convert("RGB")]
    path = tmp_path / "doc.pdf"
    imgs[0].save(path, save_all=True, append_images=imgs[1:], resolution=72)
    pages = load_pages(path)
    assert len(pages) == 2
    # 120 x 80 pt at 200 dpi.
    assert pages[0].width == pytest.approx(120 * 200 / 72, abs=2)
    assert pages[0].pixels[30:60, 30:110].mean() < 60  # the dark block, scaled up
    assert pages[1].pixels[30:60, 30:110].mean() > 200


def _minimal_pdf(body_objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(body_objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(body_objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R " % (len(body_objects) + 1) + trailer_extra + b">>\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_empty_pdf_is_refused(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(
        _minimal_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])
    )
    with pytest.raises(InputImageError, match="no pages|not a readable PDF"):
        load_page(path)


def test_encrypted_pdf_is_refused(tmp_path):
    enc = (
        b"/Encrypt << /Filter /Standard /V 1 /R 2 /O <" + b"00" * 32 + b"> /U <" + b"11" * 32 + b"> /P -4 >> "
    )
    enc += b"/ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] "
    path = tmp_path / "locked.pdf"
    path.write_bytes(
        _minimal_pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>",
            ],
            enc,
        )
    )
    with pytest.raises(InputImageError, match="encrypted") as info:
        load_page(path)
    assert "\n" not in str(info.value)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    _png_with_header(path, 100_000, 100_000)
    with pytest.raises(InputImageError, match="too large"):
        load_page(path)


def test_huge_page_is_shrunk_and_scale_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(image_io, "WORK_MAX_PIXELS", 10_000)
    path = tmp_path / "big.png"
    Image.fromarray(_gradient(400, 100)).save(path)
    page = load_page(path)
    assert page.width * page.height <= 10_000
    assert page.original_size == (400, 100)
    assert page.scale == pytest.approx(page.width / 400, rel=1e-6) and page.scale < 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.png", b"", "empty"),
        ("notes.txt", b"this is not an image at all\n", "not an image"),
        ("random.jpg", bytes(range(256)) * 10, "not an image"),
    ],
)
def test_bad_files_are_refused_in_one_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputImageError, match=message) as info:
        load_page(path)
    assert "\n" not in str(info.value) and name in str(info.value)


def test_truncated_and_corrupt_images_are_refused(tmp_path):
    src = tmp_path / "ok.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)).save(src)
    data = src.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputImageError, match="damaged or truncated"):
        load_page(cut)
    bad = bytearray(data)
    bad[60:400] = b"\xff" * 340  # corrupt the compressed data
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(bytes(bad))
    with pytest.raises(InputImageError):
        load_page(corrupt)


def test_missing_path_and_folder_are_refused(tmp_path):
    with pytest.raises(InputImageError, match="no such file"):
        load_page(tmp_path / "nope.png")
    with pytest.raises(InputImageError, match="folder"):
        load_page(tmp_path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_is_refused(tmp_path):
    path = tmp_path / "secret.png"
    Image.fromarray(_gradient()).save(path)
    path.chmod(0)
    try:
        with pytest.raises(InputImageError, match="permission"):
            load_page(path)
    finally:
        path.chmod(0o644)


def test_tiny_and_extreme_shapes_load(tmp_path):
    for w, h in ((1, 1), (3, 20000), (20000, 3)):
        path = tmp_path / f"s{w}x{h}.png"
        Image.fromarray(np.full((h, w), 200, np.uint8)).save(path)
        page = load_page(path)
        assert (page.width, page.height) == (w, h)


def test_non_ascii_file_name(tmp_path):
    path = tmp_path / "Seite_ü_页面_😀.png"
    Image.fromarray(_gradient()).save(path)
    assert load_page(path).source == str(path)


def test_page_from_array_accepts_any_dtype():
    for a in (
        np.zeros((5, 7), bool),
        np.linspace(0, 1, 35).reshape(5, 7),
        np.arange(35, dtype=np.int64).reshape(5, 7) * 1000,
        np.full((5, 7, 3), 9, np.uint8),
        np.full((5, 7), np.nan),
    ):
        page = page_from_array(a)
        assert page.pixels.dtype == np.uint8 and page.pixels.shape == (5, 7)
    with pytest.raises(InputImageError):
        page_from_array(np.zeros((0, 3)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    arr=hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.uint16, np.float32]),
        shape=st.tuples(st.integers(1, 64), st.integers(1, 64)),
    ),
    fmt=st.sampled_from(["png", "tiff"]),
)
def test_random_image_files_load_or_refuse(tmp_path, arr, fmt):
    path = tmp_path / f"random.{fmt}"
    try:
        Image.fromarray(arr).save(path)
    except (OSError, KeyError, TypeError, ValueError):
        return  # Pillow cannot write this combination; nothing to load
    page = load_page(path)
    assert page.pixels.dtype == np.uint8 and page.pixels.shape == arr.shape


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(min_size=1, max_size=2048),
    ext=st.sampled_from(["png", "jpg", "tiff", "gif", "pdf", "heic"]),
)
def test_random_bytes_are_refused_cleanly(tmp_path, data, ext):
    path = tmp_path / f"junk.{ext}"
    path.write_bytes(data)
    try:
        load_pages(path)
    except InputImageError as err:
        assert "\n" not in str(err)


def test_a_damaged_tiff_page_costs_only_itself_when_asked(tmp_path):
    pages = [Image.fromarray(np.full((50, 60), v, np.uint8)) for v in (10, 128, 250)]
    path = tmp_path / "multi.tiff"
    pages[0].save(path, save_all=True, append_images=pages[1:], compression="tiff_lzw")
    assert image_io.count_pages(path) == 3
    damage_tiff_page(path, 1)
    with pytest.raises(InputImageError, match="damaged"):
        load_pages(path)  # the default: the first bad page ends the file with its error
    got = list(image_io.iter_pages(path, page_errors="yield"))
    assert isinstance(got[1], InputImageError) and "page 2 is damaged" in str(got[1])
    assert "\n" not in str(got[1])
    assert [int(p.pixels.mean()) for p in (got[0], got[2])] == [10, 250]
    assert [p.page_index for p in (got[0], got[2])] == [0, 2]
    with pytest.raises(ValueError, match="page_errors"):
        list(image_io.iter_pages(path, page_errors="skip"))


def test_a_pdf_page_that_cannot_be_rendered_costs_only_itself(tmp_path, monkeypatch):
    import pypdfium2 as pdfium

    imgs = [Image.fromarray(np.full((80, 120), v, np.uint8)).convert("RGB") for v in (20, 128, 235)]
    path = tmp_path / "doc.pdf"
    imgs[0].save(path, save_all=True, append_images=imgs[1:], resolution=72)
    assert image_io.count_pages(path) == 3
    render = pdfium.PdfPage.render
    calls = []

    def flaky(page, *args, **kwargs):  # fault injected on purpose: PDFium fails on the second page
        calls.append(1)
        if len(calls) == 2:
            raise pdfium.PdfiumError("injected render failure")
        return render(page, *args, **kwargs)

    monkeypatch.setattr(pdfium.PdfPage, "render", flaky)
    got = list(image_io.iter_pages(path, page_errors="yield"))
    assert isinstance(got[1], InputImageError) and "page 2 of the PDF cannot be rendered" in str(got[1])
    assert got[0].pixels.mean() < 60 and got[2].pixels.mean() > 200
    calls.clear()
    with pytest.raises(InputImageError, match="page 2"):
        load_pages(path)


def test_count_pages_is_a_hint_that_never_raises(tmp_path):
    Image.fromarray(_gradient()).save(tmp_path / "one.png")
    (tmp_path / "junk.tif").write_bytes(b"II*\x00junk")
    assert image_io.count_pages(tmp_path / "one.png") == 1
    assert image_io.count_pages(tmp_path / "junk.tif") == 0
    assert image_io.count_pages(tmp_path / "missing.pdf") == 0
