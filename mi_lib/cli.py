"""Command line: ``python -m mi_lib reproduce`` prints Table I beside the paper."""

from __future__ import annotations

import argparse
import logging
import sys

from .data import SOURCES
from .paper import paper_row
from .profiles import PROFILES

COLUMNS = ("accuracy", "logit_distortion", "prob_distortion", "mse")
HEADERS = {"accuracy": "accuracy", "logit_distortion": "logit dist.",
           "prob_distortion": "prob dist.", "mse": "MSE"}


def _fmt(value, column):
    if value is None or value != value:  # missing, or NaN in a data frame
        return "-"
    return f"{100 * value:.2f}%" if column == "accuracy" else f"{value:.4f}"


def format_table(results: dict) -> str:
    """Table I rows of ``results`` with the paper's MNIST values beside them
    (``-`` where the paper has no such row)."""
    name_width = max([14] + [len(row["defense"]) + 2 for row in results["rows"]])
    ours = "".join(f"{HEADERS[c]:>{w}}" for c, w in zip(COLUMNS, (10, 13, 12, 9)))
    head = (f"{'defense':<{name_width}}{ours}   | paper: {'acc.':>7}{'dist.':>8}"
            f"{'MSE':>8}")
    lines = [f"Table I — {results['profile']} profile, data: {results['dataset']} "
             f"(seed {results['seed']})", head, "-" * len(head)]
    for row in results["rows"]:
        ours = "".join(f"{_fmt(row[c], c):>{w}}"
                       for c, w in zip(COLUMNS, (10, 13, 12, 9)))
        paper = paper_row("mnist", row["defense"]) or {}
        theirs = "".join(f"{_fmt(paper.get(c), c):>{w}}" for c, w in
                         zip(("accuracy", "logit_distortion", "mse"), (7, 8, 8)))
        lines.append(f"{row['defense']:<{name_width}}{ours}   |        {theirs}")
    ref = results["references"]
    lines += ["", f"reference MSE: label-only attacker {ref['label_only_mse']:.4f}, "
              f"mean auxiliary image {ref['mean_image_mse']:.4f}"]
    if any(row["defense"].endswith("+lm") for row in results["rows"]):
        lines.append("+lm: followed by the label modifier. mid rows: the MID model's "
                     "outputs, attacked by an inversion model trained on them.")
    if results["profile"] != "paper":
        lines.append("(quick-profile numbers: small data and short training; the "
                     "paper's values are for full MNIST)")
    return "\n".join(lines)


def table_frame(results: dict):
    """Table I rows of ``results`` as a pandas data frame for notebooks: this run's
    columns beside the paper's MNIST values under a two-level header (NaN where the
    paper has no such row). Accuracies are fractions."""
    import pandas as pd

    ours = f"{results['profile']} profile, {results['dataset']} (seed {results['seed']})"
    theirs = "paper, full MNIST"
    records = {}
    for row in results["rows"]:
        published = paper_row("mnist", row["defense"]) or {}
        record = {(ours, HEADERS[c]): row[c] for c in COLUMNS}
        record.update({(theirs, HEADERS[c]): published.get(c, float("nan"))
                       for c in ("accuracy", "logit_distortion", "mse")})
        records[row["defense"]] = record
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "defense"
    return frame


def style_table(frame):
    """``frame`` from :func:`table_frame`, formatted as :func:`format_table` prints it."""
    column = {header: name for name, header in HEADERS.items()}
    cells = {c: lambda v, name=column[c[1]]: _fmt(v, name) for c in frame.columns}
    return (frame.style.format(cells)
            .set_table_styles([{"selector": "td, th.col_heading",
                                "props": "padding: 0 0.7em; text-align: right"}]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mi_lib",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="train or load the models, run the "
                         "defenses, print Table I and write results.json")
    rep.add_argument("--profile", choices=sorted(PROFILES), default=None,
                     help="quick (CPU, minutes; default) or paper (GPU, full data); "
                     "default from $MI_PROFILE")
    rep.add_argument("--data", choices=SOURCES, default=None,
                     help="digit source (default: $MI_DATA, else the profile's)")
    rep.add_argument("--seed", type=int, default=None,
                     help="seeds the split and all training (default: $MI_SEED, else 0)")
    rep.add_argument("--out", default="results", help="output folder")
    rep.add_argument("--cache", default=None,
                     help="model cache folder (default $MI_CACHE_DIR or ~/.cache/mi_lib/models)")
    rep.add_argument("--data-root", default=None,
                     help="folder with full data sets (default $MI_DATA_ROOT)")
    rep.add_argument("--no-download", action="store_true",
                     help="never download data; fail if it is not under the data root")
    rep.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(message)s")
    from .experiments import reproduce

    try:
        results = reproduce(args.profile, args.data, args.seed, args.out, args.cache,
                            progress=not args.quiet, data_root=args.data_root,
                            download=not args.no_download)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_table(results))
    print(f"\nwrote {args.out}/results.json and {args.out}/reconstructions.png "
          f"in {results['wall_seconds']:.1f} s")
    return 0
