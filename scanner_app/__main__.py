"""Command line: ``handwriting-scanner`` / ``python -m scanner_app``.

* no arguments: open the window (the GUI is imported only then); ``FILE``: open the window and scan
  FILE (what a desktop "Open with" or a drop on the program's icon passes);
* ``scan IMAGE... [-o OUT.txt | --out-dir DIR] [--json] [--charset letters|digits|alnum]
  [--no-dictionary]``: recognise pages headless;
* ``--version``: the version and a one-line summary of the bundled model;
* ``--self-test``: load the model, scan the bundled sample page, check the text, print OK.

Errors a user can fix are one line on stderr and a non-zero exit (see
:mod:`scanner_app.core.errors` for the codes); anything else is ``internal error: ...``
and exit 70, with the traceback only when ``HWS_DEBUG=1``. ``--model-dir`` or the
``HWS_MODEL_DIR`` variable point at another model folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from . import paths
from .core.errors import InputImageError, OutputError, ScannerError
from .core.textio import PAGE_SEPARATOR  # between the pages of a multi-page TIFF/PDF

EXIT_INTERNAL = 70
SAMPLE_PAGE = ("samples", "sample_page.png")
SAMPLE_TEXT = ("samples", "sample_page.txt")
SELF_TEST_MAX_CER = 0.2


def _version() -> str:
    from scanner_app import __version__  # one source of truth, also in a checkout or a frozen bundle

    return __version__


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``prog: error: message``)."""

    def error(self, message: str):  # type: ignore[override]
        """Print a one-line error and exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="handwriting-scanner", description="Turn handwriting into text. No arguments: open the app."
    )
    p.add_argument("--version", action="store_true", help="print the version and the model summary")
    p.add_argument(
        "--self-test", action="store_true", help="scan the bundled sample page and check the result"
    )
    p.add_argument(
        "--model-dir", type=Path, help="use the model in this folder (default: bundled; env HWS_MODEL_DIR)"
    )
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    s = sub.add_parser("scan", help="recognise handwritten pages", description="Recognise handwritten pages.")
    s.add_argument(
        "images", nargs="+", type=Path, help="image files: PNG, JPEG, TIFF, BMP, WebP, GIF, HEIC, PDF"
    )
    out = s.add_mutually_exclusive_group()
    out.add_argument(
        "-o", "--output", type=Path, help="write the text (or JSON) to this file (one image only)"
    )
    out.add_argument("--out-dir", type=Path, help="write <stem>.txt (or .json) per image into this folder")
    s.add_argument("--json", action="store_true", help="output the full result (boxes, confidences) as JSON")
    s.add_argument("--charset", choices=("alnum", "letters", "digits"), default="alnum")
    s.add_argument(
        "--no-dictionary", action="store_true", help="do not correct words with the English word list"
    )
    s.add_argument("--model-dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return p


def _model_dir(args: argparse.Namespace) -> Path | None:
    if getattr(args, "model_dir", None):
        return Path(args.model_dir)
    env = os.environ.get("HWS_MODEL_DIR")
    return Path(env) if env else None


def _load_classifier(args: argparse.Namespace):
    from .core.classifier import CharClassifier

    return CharClassifier.load(_model_dir(args))


def _model_summary(args: argparse.Namespace) -> str:
    folder = _model_dir(args) or paths.model_dir()
    card_path = folder / "model_card.json"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"model: unavailable ({card_path}: {exc.__class__.__name__})"
    classes = card.get("classes") or []
    acc = card.get("test_accuracy")
    in_charset = card.get("test_accuracy_charset") or {}
    if isinstance(acc, dict):  # one figure per test set; letter-or-digit-known figure first when there is one
        acc_text = ", ".join(
            f"{k} {float(in_charset[k]) * 100:.1f}% (36-way {float(v) * 100:.1f}%)"
            if isinstance(in_charset.get(k), int | float)
            else f"{k} {float(v) * 100:.1f}%"
            for k, v in acc.items()
            if isinstance(v, int | float)
        )
    elif isinstance(acc, int | float):
        acc_text = f"{float(acc) * 100:.1f}%"
    else:
        acc_text = "n/a"
    kinds = " and ".join(
        k for k in ("digits", "letters") if any(c.isdigit() == (k == "digits") for c in classes)
    )
    return f"model: {len(classes)} classes ({kinds}, upper and lower case merged); test accuracy: {acc_text}"


def _note(msg: str) -> None:
    print(f"note: {msg}", file=sys.stderr)


def _scan_file(path: Path, classifier, config, show_progress: bool, label: str):
    """Scan every page of one file; returns (ScanResults, the InputImageError or None of each page).

    A damaged page of a TIFF or PDF gets an empty result and its error, and the other pages are still
    read; only a file of which no page can be read raises.
    """
    from .core.image_io import iter_pages
    from .core.pipeline import run_scan
    from .core.types import ScanResult

    results, errors = [], []
    for k, page in enumerate(iter_pages(path, page_errors="yield")):
        if isinstance(page, InputImageError):
            results.append(ScanResult.unread(str(page), str(path)))
            errors.append(page)
            continue
        if show_progress:
            print(f"\r{label} page {k + 1}...", end="", file=sys.stderr, flush=True)
        results.append(run_scan(page, classifier, config))
        errors.append(None)
    if not results:
        raise InputImageError(f"{path}: the file holds no image.")
    if all(errors):
        raise errors[0]
    return results, errors


def _render(results, as_json: bool) -> str:
    if as_json:
        data = results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results]
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    text = PAGE_SEPARATOR.join(r.text for r in results)
    return text + "\n" if text else ""


def _cmd_scan(args: argparse.Namespace) -> int:
    from .core.pipeline import ScanConfig
    from .core.textio import write_text_atomic

    images: list[Path] = args.images
    if args.output is not None and len(images) > 1:
        raise OutputError("-o/--output takes one image; use --out-dir for several images.")
    if args.out_dir is not None:
        try:
            args.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"Cannot create the folder {args.out_dir}: {exc.strerror or exc}.") from exc
        if not args.out_dir.is_dir():
            raise OutputError(f"{args.out_dir} is not a folder.")
    classifier = _load_classifier(args)
    config = ScanConfig(charset=args.charset, dictionary=not args.no_dictionary)
    show_progress = len(images) > 1 and sys.stderr.isatty()
    first_error: ScannerError | None = None
    used_stems: set[str] = set()
    chunks: list[str] = []
    for n, path in enumerate(images, 1):
        label = f"[{n}/{len(images)}] {path.name}"
        try:
            results, page_errors = _scan_file(path, classifier, config, show_progress, label)
        except (InputImageError, OutputError) as err:
            if len(images) == 1:
                raise
            if show_progress:
                print(file=sys.stderr)
            print(f"error: {err}", file=sys.stderr)
            first_error = first_error or err
            continue
        for k, (r, err) in enumerate(zip(results, page_errors, strict=True), 1):
            if err is not None:  # the other pages are still written; the exit status says one failed
                if show_progress:
                    print(file=sys.stderr)
                print(f"error: {err}", file=sys.stderr)
                first_error = first_error or err
            elif not r.text:
                why = r.notes[-1] if r.notes else "no handwriting was found"
                _note(f"{path}: page {k}: empty result ({why})")
        rendered = _render(results, args.json)
        if args.out_dir is not None:
            stem = path.stem
            k = 2
            while stem in used_stems:
                stem = f"{path.stem}-{k}"
                k += 1
            used_stems.add(stem)
            write_text_atomic(args.out_dir / f"{stem}{'.json' if args.json else '.txt'}", rendered)
        elif args.output is not None:
            write_text_atomic(args.output, rendered)
        else:
            chunks.append(rendered)
    if show_progress:
        print(f"\rscanned {len(images)} files.{' ' * 20}", file=sys.stderr)
    if chunks:
        if args.json and len(images) > 1:
            merged = [json.loads(c) for c in chunks]
            sys.stdout.write(json.dumps(merged, ensure_ascii=False, indent=1) + "\n")
        else:
            # Each chunk is a file's text plus the one final newline _render adds: drop just that one
            # (a blank last page leaves the text ending in a separator, whose newline must stay).
            texts = [c.removesuffix("\n") for c in chunks if c]
            sys.stdout.write(PAGE_SEPARATOR.join(texts) + "\n" if texts else "")
        sys.stdout.flush()
    return first_error.exit_code if first_error else 0


def _cer(truth: str, guess: str) -> float:
    """Character error rate (Levenshtein distance / truth length), ignoring line breaks and case."""
    from .core.metrics import edit_distance

    a, b = " ".join(truth.lower().split()), " ".join(guess.lower().split())
    return edit_distance(a, b) / max(len(a), 1)


def _self_test(args: argparse.Namespace) -> int:
    from .core.image_io import load_page
    from .core.pipeline import run_scan

    classifier = _load_classifier(args)
    page_path = paths.asset_path(*SAMPLE_PAGE)
    truth = paths.asset_path(*SAMPLE_TEXT).read_text(encoding="utf-8").strip()
    result = run_scan(load_page(page_path), classifier)
    err = _cer(truth, result.text)
    if err > SELF_TEST_MAX_CER:
        print(
            f"self-test FAILED: CER {err:.2f} > {SELF_TEST_MAX_CER} on {page_path.name}: got {result.text!r}",
            file=sys.stderr,
        )
        return 1
    print(f"OK: self-test passed ({len(truth)} characters, CER {err:.3f}, {len(classifier.labels)} classes)")
    return 0


def _file_to_open(argv: list[str]) -> Path | None:
    """Return the file to open in the window for ``handwriting-scanner FILE``, else None.

    Only a lone argument that is no option or command and names an existing file (or at least looks like
    a page: an image or PDF suffix) counts, so a mistyped command still gets the usage error.
    """
    if len(argv) != 1 or argv[0].startswith("-") or argv[0] in ("scan", "help"):
        return None
    from .core.types import PAGE_SUFFIXES

    path = Path(argv[0])
    return path if path.is_file() or path.suffix.lower() in PAGE_SUFFIXES else None


def _run(argv: list[str]) -> int:
    open_path = _file_to_open(argv)
    if not argv or open_path is not None:
        try:
            from .gui.app import run  # the GUI (and PySide6) only when the window is wanted
        except ImportError as exc:
            print(
                f"error: the app window is not available ({exc}); use 'scan' for the command line.",
                file=sys.stderr,
            )
            return 1
        return run([], open_path=open_path)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed as one line
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if args.version:
        print(f"handwriting-scanner {_version()}; {_model_summary(args)}")
        return 0
    if args.self_test:
        return _self_test(args)
    if args.command == "scan":
        return _cmd_scan(args)
    _parser().print_usage(sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI or the GUI and turn errors into one line and an exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(argv)
    except ScannerError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0  # e.g. `... | head`: the reader went away
    except Exception as err:
        if os.environ.get("HWS_DEBUG") == "1":
            traceback.print_exc()
        msg = str(err).strip().splitlines()[0] if str(err).strip() else ""
        print(f"internal error: {type(err).__name__}: {msg} (set HWS_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
