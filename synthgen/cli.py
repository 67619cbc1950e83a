"""The ``synthgen`` command line: a thin layer over the public API.

Commands: ``fit``, ``sample``, ``evaluate``, ``export``, ``schema``, ``list`` and ``demo``.
Errors from synthgen print as one line on stderr with exit status 2; ``export`` exits with 3
when the privacy verdict does not pass. Output paths are checked before any work starts (the
folder exists and is writable, a table's format is known), and every file is written
atomically: an interrupted or failed command leaves no partial file and the old file intact.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synthgen.exceptions import ConfigurationError, SynthgenError
from synthgen.files import check_output_path

__all__ = ["main"]


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _params(pairs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigurationError(f"--param expects KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        out[key.strip()] = _parse_value(value)
    return out


def _cmd_fit(args: argparse.Namespace) -> None:
    import synthgen as sg
    from synthgen.tabular_io import read_table

    check_output_path(args.output, what="model")  # before the fit, not after it
    data = read_table(args.data)
    schema = sg.Schema.from_json(Path(args.schema)) if args.schema else None
    params = _params(args.param)
    if args.random_state is not None:
        params["random_state"] = args.random_state
    model = sg.make_generator(args.generator, verbose=not args.quiet, **params)
    start = time.perf_counter()
    model.fit(data, schema=schema)
    model.save(args.output)
    print(
        f"fitted {args.generator} on {len(data):,} rows x {data.shape[1]} columns "
        f"in {time.perf_counter() - start:.1f} s -> {args.output}"
    )


def _cmd_sample(args: argparse.Namespace) -> None:
    import synthgen as sg
    from synthgen.tabular_io import check_table_path, write_table

    check_table_path(args.output)
    model = sg.load(args.model, device=args.device)
    model.set_params(verbose=not args.quiet)
    frame = model.sample(args.n, random_state=args.random_state)
    write_table(frame, args.output)
    print(f"wrote {len(frame):,} synthetic rows -> {args.output}")


def _cmd_evaluate(args: argparse.Namespace) -> None:
    import synthgen as sg
    from synthgen.tabular_io import read_table

    for path, what in ((args.report, "report"), (args.json, "metrics JSON")):
        if path:
            check_output_path(path, what=what)
    real = read_table(args.real)
    synthetic = read_table(args.synthetic)
    holdout = read_table(args.holdout) if args.holdout else None
    schema = sg.Schema.from_json(Path(args.schema)) if args.schema else None
    report = sg.evaluate(
        real=real,
        synthetic=synthetic,
        holdout=holdout,
        target=args.target,
        schema=schema,
        random_state=args.random_state,
        verbose=not args.quiet,
    )
    table = report.summary()[["group", "metric", "value", "ideal", "status"]]
    print(table.to_string(index=False))
    print(f"privacy verdict: {report.privacy_verdict}")
    if args.report:
        report.to_html(args.report)
        print(f"report -> {args.report}")
    if args.json:
        report.to_json(args.json)
        print(f"metrics -> {args.json}")


#: Exit status of ``synthgen export`` when the privacy verdict does not pass.
EXIT_NOT_SAFE = 3


def _cmd_export(args: argparse.Namespace) -> int:
    import synthgen as sg
    from synthgen.tabular_io import read_table

    data = read_table(args.data)
    schema = sg.Schema.from_json(Path(args.schema)) if args.schema else None
    result = sg.export(
        data,
        generator=args.generator,
        params=_params(args.param),
        target=args.target,
        schema=schema,
        epsilon=args.epsilon,
        delta=args.delta,
        output=args.output,
        report=args.report,
        force=args.force,
        random_state=args.random_state,
        verbose=not args.quiet,
    )
    print(f"privacy verdict: {result.verdict}")
    if result.privacy is not None:
        print(
            f"differential privacy: epsilon = {result.privacy['epsilon']:.3g} spent of "
            f"{result.privacy['target_epsilon']:.3g}, delta = {result.privacy['delta']:.2g}"
        )
    for reason in result.reasons:
        print(f"  {reason}")
    if args.report:
        print(f"report -> {args.report}")
    if result.written:
        print(f"wrote {len(result.synthetic):,} synthetic rows -> {args.output}")
    else:
        print("no data written: the privacy verdict did not pass (use --force to override)")
        if result.removed_old_output:
            print(f"removed the older {args.output} so it is not taken for this run's result")
    return 0 if result.verdict == "pass" else EXIT_NOT_SAFE


def _cmd_schema(args: argparse.Namespace) -> None:
    import synthgen as sg
    from synthgen.tabular_io import read_table

    if args.output is not None:
        check_output_path(args.output, what="schema")
    schema = sg.Schema.infer(read_table(args.data))
    text = schema.to_json(args.output)
    if args.output is None:
        print(text)
        print(schema.summary(), file=sys.stderr)  # for review; stdout stays JSON
    else:
        print(f"wrote schema of {len(schema)} columns -> {args.output}")
        print(schema.summary())


def _cmd_list(args: argparse.Namespace) -> None:
    import synthgen as sg

    for key in sg.list_generators():
        print(key)


def _cmd_demo(args: argparse.Namespace) -> None:
    from synthgen.demo import run_demo

    run_demo(Path(args.output), generator=args.generator, random_state=args.random_state)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="synthgen", description="Learn a table and generate synthetic rows."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="fit a generator on a CSV/Parquet table and save it")
    p.add_argument("data", help="input table (.csv, .csv.gz, .tsv, .parquet)")
    p.add_argument("-g", "--generator", default="copula", help="generator key (see 'list')")
    p.add_argument("-o", "--output", required=True, help="model file to write (.sgm)")
    p.add_argument("--schema", help="schema JSON to use instead of inferring one")
    p.add_argument("--random-state", type=int, default=None)
    p.add_argument("--param", action="append", default=[], help="generator parameter KEY=VALUE")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("sample", help="draw rows from a saved model")
    p.add_argument("model", help="model file written by 'fit'")
    p.add_argument("-n", type=int, required=True, help="number of rows")
    p.add_argument("-o", "--output", required=True, help="table to write (.csv or .parquet)")
    p.add_argument("--random-state", type=int, default=None)
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: as saved)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("evaluate", help="compare a synthetic table with the real one")
    p.add_argument("--real", required=True, help="the training table")
    p.add_argument("--synthetic", required=True, help="the synthetic table")
    p.add_argument("--holdout", default=None, help="real rows the generator never saw")
    p.add_argument("--target", default=None, help="column to predict for utility metrics")
    p.add_argument("--schema", default=None, help="schema JSON (default: inferred)")
    p.add_argument("--report", default=None, help="standalone HTML report to write")
    p.add_argument("--json", default=None, help="metrics as JSON to write")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "export", help="privacy-safe synthetic copy: written only if the privacy verdict passes"
    )
    p.add_argument("data", help="the sensitive table")
    p.add_argument(
        "-g",
        "--generator",
        default=None,
        help="generator key (default: copula; dp_marginals with --epsilon)",
    )
    p.add_argument("-o", "--output", required=True, help="synthetic table to write")
    p.add_argument("--report", default=None, help="HTML privacy report (always written)")
    p.add_argument("--target", default=None, help="column for the utility metrics")
    p.add_argument("--schema", default=None, help="schema JSON (default: inferred)")
    p.add_argument(
        "--epsilon", type=float, default=None, help="differential-privacy budget (e.g. 1 to 10)"
    )
    p.add_argument(
        "--delta", type=float, default=1e-5, help="differential-privacy delta (with --epsilon)"
    )
    p.add_argument("--force", action="store_true", help="write the data even if not safe")
    p.add_argument("--param", action="append", default=[], help="generator parameter KEY=VALUE")
    p.add_argument("--random-state", type=int, default=0)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("schema", help="print or write the inferred schema of a table")
    p.add_argument("data")
    p.add_argument("-o", "--output", default=None, help="JSON file to write")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser("list", help="list the available generators")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("demo", help="synthesise the bundled Adult census table")
    p.add_argument("--output", default="demo_output", help="folder for the results")
    p.add_argument("-g", "--generator", default="copula")
    p.add_argument("--random-state", type=int, default=0)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``synthgen`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
    except SynthgenError as err:
        print(f"synthgen: error: {err}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
