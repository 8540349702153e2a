"""Command line: ``python -m model_training train|evaluate ...``."""

from __future__ import annotations

import argparse
import sys


def _floats(s: str) -> tuple[float, ...]:
    return tuple(float(v) for v in s.split(",") if v.strip())


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run ``train`` or ``evaluate``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m model_training", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train, evaluate on the test writers, export to --out")
    t.add_argument("--data", help="data folder (default $HWS_DATA_DIR or ../shared/data)")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--out", default="assets/model", help="export folder (default assets/model)")
    t.add_argument("--resume", action="store_true", help="continue an interrupted run from its backup")
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--run-dir", default="runs/train", help="checkpoints, TensorBoard logs, resume backup")
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--width", type=int, default=48, help="filters in the first block (model size)")
    t.add_argument("--stage3-convs", type=int, default=3, help="convolutions in the 7x7 block (model depth)")
    t.add_argument("--stage2-convs", type=int, default=2, help="convolutions in the 14x14 block")
    t.add_argument(
        "--ema",
        type=float,
        default=0.995,
        metavar="MOMENTUM",
        help="average the weights, written into the model each epoch (default 0.995; 0: off)",
    )
    t.add_argument(
        "--case-weight",
        type=float,
        default=0.0,
        metavar="W",
        help="train a case head jointly, with this loss weight (default 0: fit the case probe instead)",
    )
    t.add_argument(
        "--no-case-probe", action="store_true", help="no 'upper' output (letter case) on the exported model"
    )
    t.add_argument(
        "--precision",
        choices=("auto", "float32", "mixed_bfloat16"),
        default="auto",
        help="compute precision (auto: bfloat16 where the CPU has native bfloat16, else float32)",
    )
    g = t.add_argument_group("ingredients (for ablations)")
    g.add_argument("--augment-copies", type=int, default=1, help="distorted copies of each real sample")
    g.add_argument(
        "--rerender",
        type=_floats,
        default=(0.05, 0.12),
        help="comma-separated UNIPEN re-render stroke widths ('' for none)",
    )
    g.add_argument(
        "--rerender-style",
        type=float,
        default=0.0,
        metavar="S",
        help="restyle the UNIPEN trajectories before re-rendering (stroke placement, slant; 0: as written)",
    )
    g.add_argument("--fonts", type=int, default=20, help="synthetic glyphs per font and character (0: none)")
    g.add_argument("--no-graph-augment", action="store_true", help="no per-batch jitter")
    g.add_argument(
        "--drop-unipen-flagged", action="store_true", help="leave out UNIPEN samples the quality flag marks"
    )
    t.add_argument(
        "--emnist",
        metavar="DIR|tfds",
        help="add EMNIST letters to training: a folder with the official gzip IDX files, or 'tfds' "
        "(tensorflow-datasets, online); NIST test figures then include writers EMNIST may share",
    )
    g.add_argument("--limit", type=int, default=0, help="at most this many samples per training set")
    g.add_argument("--steps", type=int, default=1000, help="steps per epoch (0: one pass over the set)")
    g.add_argument("--no-export", action="store_true")
    g.add_argument("--no-cache", action="store_true", help="do not read or write model_training/_cache")
    t.add_argument("--quiet", action="store_true", help="one line per epoch (for log files)")

    e = sub.add_parser("evaluate", help="accuracy per test set and class, confusion matrix, JSON report")
    e.add_argument("--data", help="data folder (default $HWS_DATA_DIR or ../shared/data)")
    e.add_argument("--model", default="assets/model", help="model folder (default assets/model)")
    e.add_argument(
        "--report-dir", default=None, help="where evaluation.json and the PNG go (default --model)"
    )
    e.add_argument("--no-card-update", action="store_true", help="leave model_card.json unchanged")

    x = sub.add_parser("export", help="export a checkpoint of an interrupted run (then run evaluate)")
    x.add_argument("--checkpoint", default="runs/train/best.keras")
    x.add_argument("--run-dir", default="runs/train")
    x.add_argument("--out", default="assets/model")

    c = sub.add_parser("case-probe", help="fit the letter-case probe on an exported model and re-export it")
    c.add_argument("--model", default="assets/model", help="model folder (default assets/model)")
    c.add_argument("--data", help="data folder (default $HWS_DATA_DIR or ../shared/data)")
    c.add_argument("--seed", type=int, default=42)

    a = p.parse_args(argv)
    try:
        return _run_command(a, argv)
    except FileNotFoundError as err:  # a wrong data, model or EMNIST folder: say which, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run_command(a: argparse.Namespace, argv: list[str] | None) -> int:
    if a.cmd == "case-probe":
        from .case_probe import add_case_probe

        card = add_case_probe(a.model, a.data, a.seed)
        print(f"case probe added to {a.model}: {card['case_probe']}")
        return 0
    if a.cmd == "export":
        from .train import export_checkpoint

        export_checkpoint(a.checkpoint, a.run_dir, a.out)
        return 0
    if a.cmd == "train":
        from .data import CACHE_DIR
        from .train import TrainConfig, run

        cfg = TrainConfig(
            data=a.data,
            out=a.out,
            run_dir=a.run_dir,
            epochs=a.epochs,
            batch_size=a.batch_size,
            learning_rate=a.lr,
            seed=a.seed,
            width=a.width,
            stage3_convs=a.stage3_convs,
            stage2_convs=a.stage2_convs,
            ema_momentum=a.ema,
            case_weight=a.case_weight,
            case_probe=not a.no_case_probe,
            precision=a.precision,
            resume=a.resume,
            verbose=2 if a.quiet else 1,
            augment_copies=a.augment_copies,
            rerender_widths=a.rerender,
            rerender_style=a.rerender_style,
            fonts_per_char=a.fonts,
            in_graph_augment=not a.no_graph_augment,
            drop_unipen_flagged=a.drop_unipen_flagged,
            limit_per_set=a.limit,
            max_steps_per_epoch=a.steps,
            export=not a.no_export,
            cache_dir=None if a.no_cache else str(CACHE_DIR),
            emnist=a.emnist,
        )
        run(cfg, argv)
        return 0
    from .evaluate import run_evaluation

    run_evaluation(a.data, a.model, a.report_dir, update_card=not a.no_card_update)
    return 0


if __name__ == "__main__":
    sys.exit(main())
