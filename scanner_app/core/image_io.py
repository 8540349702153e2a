"""Load a page image from a file: any common format, any pixel mode, sane sizes.

Formats: PNG, JPEG, TIFF (every page of a multi-page file), BMP, WebP, GIF (first frame),
HEIC/HEIF (through pi-heif) and PDF (every page, rendered at ``PDF_DPI`` through pypdfium2).

Every page comes back as a :class:`~scanner_app.core.types.PageImage`: uint8 grey, EXIF
orientation applied, transparency composited over white, 16-bit and float images rescaled,
CMYK / palette / LA / 1-bit converted.

Limits (why: a photo must not exhaust memory, and a tiny header must not declare a huge image):

* a file whose declared size exceeds ``MAX_PIXELS`` (120 megapixels) is refused with an
  :class:`InputImageError` before its pixels are decoded (decompression-bomb guard);
* a page larger than ``WORK_MAX_PIXELS`` (40 megapixels) is shrunk on load; ``PageImage.scale``
  (< 1) records the factor and ``PageImage.original_size`` the file's (width, height), so
  boxes can be mapped back to the file's pixel coordinates;
* a multi-page file yields at most ``MAX_PAGES`` pages.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from .errors import InputImageError
from .types import PageImage

MAX_PIXELS = 120_000_000
WORK_MAX_PIXELS = 40_000_000
MAX_PAGES = 500
PDF_DPI = 200
_HEIF_REGISTERED = False


def _register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF (lazily: pi-heif is only needed for those files).

    pi-heif is the decode-only build of pillow-heif (same API and libheif, without the 23 MB HEVC encoder);
    pillow-heif is used where only it is installed.
    """
    global _HEIF_REGISTERED
    if _HEIF_REGISTERED:
        return
    try:
        import pi_heif as heif
    except ImportError:
        try:
            import pillow_heif as heif
        except ImportError:  # pragma: no cover - optional at run time
            heif = None
    if heif is not None:
        heif.register_heif_opener()
    _HEIF_REGISTERED = True


def _check_path(path: Path) -> None:
    """Refuse a missing path, a folder, an unreadable or empty file with a clear message."""
    if not path.exists():
        raise InputImageError(f"{path}: no such file.")
    if path.is_dir():
        raise InputImageError(f"{path}: is a folder, not an image file.")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            fh.read(1)
    except PermissionError as exc:
        raise InputImageError(f"{path}: permission denied (cannot read the file).") from exc
    except OSError as exc:
        raise InputImageError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    if size == 0:
        raise InputImageError(f"{path}: the file is empty.")


def _to_grey(img: Image.Image) -> np.ndarray:
    """Convert a Pillow image of any mode to a uint8 grey array (transparency over white)."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        if mode == "F":
            finite = np.isfinite(a)
            if not finite.all():
                # Missing values (NaN, inf) become paper: the brightest finite value, or white.
                fill = float(a[finite].max()) if finite.any() else 1.0
                a = np.where(finite, a, fill)
            lo, hi = float(a.min()), float(a.max())
            # Floats in 0..1 are intensities; anything else is stretched to its own range.
            if lo >= 0.0 and hi <= 1.0:
                a = a * 255.0
            elif hi > lo:
                a = (a - lo) * (255.0 / (hi - lo))
            else:
                a = np.full(a.shape, 255.0)
        else:
            a = a / 257.0 if a.max() > 255 else a
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    if img.mode != "L":
        img = img.convert("RGB").convert("L") if img.mode not in ("1", "RGB") else img.convert("L")
    return np.array(img, dtype=np.uint8)


def _fit(img: Image.Image) -> tuple[Image.Image, float]:
    """Shrink an image above WORK_MAX_PIXELS; returns the image and the scale applied."""
    w, h = img.size
    if w * h <= WORK_MAX_PIXELS:
        return img, 1.0
    scale = math.sqrt(WORK_MAX_PIXELS / (w * h))
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    return img.resize(size, Image.Resampling.BOX), size[0] / w


def _page_from_pil(frame: Image.Image, source: str, index: int, declared: tuple[int, int]) -> PageImage:
    """Turn one decoded frame into a PageImage; ``declared`` is the file's (width, height)."""
    before = frame.size  # may be smaller than declared when JPEG draft mode decoded less
    pre_scale = before[0] / max(declared[0], 1)
    turned = ImageOps.exif_transpose(frame) or frame
    dw, dh = declared
    if turned.size != before and turned.size == (before[1], before[0]):
        dw, dh = dh, dw  # rotated by 90 degrees: the original size turns too
    fitted, scale = _fit(turned)
    pixels = _to_grey(fitted)
    return PageImage(
        pixels=pixels, source=source, page_index=index, scale=pre_scale * scale, original_size=(dw, dh)
    )


def _iter_pdf(path: Path, yield_errors: bool) -> Iterator[PageImage | InputImageError]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        # PDFium's error text can be stale (a global last-error), so look at the file itself.
        if _pdf_is_encrypted(path):
            raise InputImageError(f"{path}: the PDF is encrypted (password protected).") from exc
        raise InputImageError(f"{path}: not a readable PDF (damaged or not a PDF document).") from exc
    try:
        n = len(pdf)
        if n == 0:
            raise InputImageError(f"{path}: the PDF has no pages.")
        for i in range(min(n, MAX_PAGES)):
            page = pdf[i]
            try:
                pw, ph = page.get_size()
                scale = PDF_DPI / 72.0
                if pw * ph * scale * scale > WORK_MAX_PIXELS:
                    scale = math.sqrt(WORK_MAX_PIXELS / max(pw * ph, 1.0))
                bitmap = page.render(scale=scale, grayscale=True, fill_color=(255, 255, 255, 255))
                pil = bitmap.to_pil()
                pixels = _to_grey(pil)
            except pdfium.PdfiumError as exc:
                error = InputImageError(f"{path}: page {i + 1} of the PDF cannot be rendered ({exc}).")
                if not yield_errors:
                    raise error from exc
                yield error
                continue
            finally:
                page.close()
            yield PageImage(pixels=pixels, source=str(path), page_index=i)
    finally:
        pdf.close()


def _pdf_is_encrypted(path: Path) -> bool:
    """Return whether the PDF's trailer names an /Encrypt dictionary (its first and last 64 KiB)."""
    with path.open("rb") as fh:
        head = fh.read(1 << 16)
        fh.seek(max(0, path.stat().st_size - (1 << 16)))
        tail = fh.read()
    return b"/Encrypt" in head or b"/Encrypt" in tail


def _is_pdf(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(1024)
    return b"%PDF-" in head


def iter_pages(path: str | Path, *, page_errors: str = "raise") -> Iterator[PageImage | InputImageError]:
    """Yield every page of an image file (one for most formats; all of a TIFF or PDF).

    Raises :class:`InputImageError` with a one-line message for anything that is not a
    readable image of a sane size. Pages are decoded one at a time, so a long TIFF or PDF
    does not have to fit in memory at once.

    ``page_errors="yield"``: one damaged page of a TIFF or PDF (corrupt image data, a page
    that cannot be rendered, a page too large) does not cost the others: its
    :class:`InputImageError` is yielded in its place and reading goes on with the next page.
    A file that cannot be opened at all, or whose page directory is broken, still raises.
    """
    if page_errors not in ("raise", "yield"):
        raise ValueError(f"page_errors must be 'raise' or 'yield', not {page_errors!r}")
    yield_errors = page_errors == "yield"
    path = Path(path)
    _check_path(path)
    if _is_pdf(path):
        yield from _iter_pdf(path, yield_errors)
        return
    if path.suffix.lower() in (".heic", ".heif", ".avif", ".hif"):
        _register_heif()
    try:
        with warnings.catch_warnings():
            # We check the declared size ourselves (MAX_PIXELS) before decoding anything.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            try:
                img = Image.open(path)
            except UnidentifiedImageError:
                _register_heif()  # a HEIC file with another extension
                img = Image.open(path)
            with img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise InputImageError(
                        f"{path}: the image is too large ({w} x {h} pixels; "
                        f"the limit is {MAX_PIXELS // 1_000_000} megapixels)."
                    )
                fmt = (img.format or "").upper()
                if fmt == "JPEG" and w * h > WORK_MAX_PIXELS:
                    # Let libjpeg decode at a reduced size: less memory and time.
                    img.draft("L", (w // 2, h // 2))
                # Every page of a TIFF; the first frame of an animation (GIF, APNG, WebP).
                frames = ImageSequence.Iterator(img) if fmt == "TIFF" else [img]
                for i, frame in enumerate(frames):
                    if i >= MAX_PAGES:
                        break
                    declared = (w, h) if fmt == "JPEG" else frame.size
                    try:
                        if declared[0] * declared[1] > MAX_PIXELS:
                            raise InputImageError(f"{path}: page {i + 1} is too large.")
                        frame.load()
                        page = _page_from_pil(frame, str(path), i, declared)
                    except _PAGE_ERRORS as exc:
                        if not (yield_errors and fmt == "TIFF"):
                            raise
                        yield _page_error(path, i, exc)
                        continue
                    yield page
    except InputImageError:
        raise
    except UnidentifiedImageError as exc:
        raise InputImageError(f"{path}: not an image file (or a format that is not supported).") from exc
    except Image.DecompressionBombError as exc:
        raise InputImageError(f"{path}: the image is too large (decompression bomb guard).") from exc
    except MemoryError as exc:
        raise InputImageError(f"{path}: the image is too large to load into memory.") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct_error()) as exc:
        raise InputImageError(f"{path}: the image is damaged or truncated ({_short(exc)}).") from exc


def _page_error(path: Path, index: int, exc: BaseException) -> InputImageError:
    """Return the one-line error for page ``index`` (0-based) of a multi-page file."""
    if isinstance(exc, InputImageError):
        return exc
    if isinstance(exc, MemoryError | Image.DecompressionBombError):
        return InputImageError(f"{path}: page {index + 1} is too large to load into memory.")
    return InputImageError(f"{path}: page {index + 1} is damaged or truncated ({_short(exc)}).")


def struct_error() -> type[Exception]:
    """Return struct.error (Pillow raises it for some corrupt headers)."""
    import struct

    return struct.error


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


_PAGE_ERRORS = (
    InputImageError,
    Image.DecompressionBombError,
    MemoryError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    struct_error(),
)


def count_pages(path: str | Path) -> int:
    """Return how many pages :func:`iter_pages` will give for ``path`` (for a progress bar); 0 when unknown.

    Only reads headers: the PDF's page table, the TIFF's directory of frames. Never raises: loading the
    pages reports what is wrong with the file.
    """
    try:
        path = Path(path)
        if _is_pdf(path):
            import pypdfium2 as pdfium

            pdf = pdfium.PdfDocument(str(path))
            try:
                return min(len(pdf), MAX_PAGES)
            finally:
                pdf.close()
        with Image.open(path) as img:
            frames = getattr(img, "n_frames", 1) if (img.format or "").upper() == "TIFF" else 1
        return min(int(frames), MAX_PAGES)
    except Exception:  # noqa: BLE001 - only a hint
        return 0


def load_pages(path: str | Path) -> list[PageImage]:
    """Return every page of an image file (see :func:`iter_pages`)."""
    return list(iter_pages(path))


def load_page(path: str | Path) -> PageImage:
    """Return the first page of an image file (see :func:`iter_pages`)."""
    for page in iter_pages(path):
        return page
    raise InputImageError(f"{path}: the file holds no image.")


def page_from_array(pixels: np.ndarray, source: str = "") -> PageImage:
    """Build a PageImage from an array of any numeric dtype, grey (H x W) or colour (H x W x 3/4)."""
    a = np.asarray(pixels)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = a[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if a.ndim != 2 or a.size == 0:
        raise InputImageError(f"{source or 'image'}: expected a 2-D image, got shape {a.shape}.")
    if a.dtype == np.uint8:
        return PageImage(np.ascontiguousarray(a), source=source)
    f = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if a.dtype == np.bool_:
        f = f * 255.0
    elif np.issubdtype(a.dtype, np.floating) and f.min() >= 0.0 and f.max() <= 1.0:
        f = f * 255.0
    elif f.max() > 255 or f.min() < 0:
        lo, hi = float(f.min()), float(f.max())
        f = (f - lo) * (255.0 / (hi - lo)) if hi > lo else np.full(f.shape, 255.0)
    return PageImage(np.clip(np.rint(f), 0, 255).astype(np.uint8), source=source)
