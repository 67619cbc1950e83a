"""The ``synthgen`` command line: a thin layer over the public API.

Commands: ``fit``, ``sample``, ``evaluate``, ``export``, ``schema``, ``metadata``, ``info``,
``list`` and ``demo`` (``fit`` and ``sample`` take a folder of linked tables too). Errors from
synthgen print as one line on stderr with exit status 2; ``export`` exits with 3 when the
privacy verdict does not pass; warnings print as one line ``synthgen: warning:``; a closed
output pipe (``synthgen schema data.csv | head``) ends the command quietly (status 141, as for
a tool killed by SIGPIPE). Output paths are checked before any work starts (the folder exists
and is writable, a table's format is known), and every file is written atomically: an
interrupted or failed command leaves no partial file and the old file intact.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synthgen._version import __version__
from synthgen.cli.chunked import add_chunk_options, sample_chunked
from synthgen.cli.distributed import (
    add_evaluate_options,
    add_parts_options,
    evaluate_function,
    fit_from_parts,
)
from synthgen.cli.export import EXIT_NOT_SAFE, add_export_command
from synthgen.cli.info import add_info_command
from synthgen.cli.options import (
    add_kind_option,
    add_reading_options,
    pairs,
    reading,
    schema_for,
)
from synthgen.cli.tables import (
    FORMATS,
    add_metadata_command,
    fit_tables,
    is_relational_model,
    sample_tables,
)
from synthgen.exceptions import ConfigurationError, SynthgenError
from synthgen.files import check_output_path

__all__ = ["EXIT_NOT_SAFE", "main"]


_DEFAULT_HELP = (
    "generator key (see 'list'); default: the best that fits the table's size in a few "
    "minutes (transformer up to 1M cells), e.g. -g copula for a fit in seconds"
)


#: Exit status when the reader of stdout went away (128 + SIGPIPE, as the shell reports).
EXIT_BROKEN_PIPE = 141


def _params(items: Sequence[str]) -> dict[str, Any]:
    return pairs(items, "--param", parse=True)


def _cmd_fit(args: argparse.Namespace) -> None:
    import synthgen as sg
    from synthgen.generators.params import validate_params
    from synthgen.tabular_io import read_table
    from synthgen.training import distributed

    main = distributed.is_main_process()  # under torchrun every rank fits; rank 0 reports

    check_output_path(args.output, what="model")  # before the fit, not after it
    params = _params(args.param)
    if args.random_state is not None:
        params["random_state"] = args.random_state
    if args.parts:  # one table in Parquet parts, each torchrun process reading its share
        return fit_from_parts(args, params)
    if Path(args.data).is_dir():  # a folder of linked tables
        return fit_tables(args, params)
    if args.metadata:
        raise ConfigurationError("--metadata goes with a folder of tables, not one table")
    data = None
    if args.generator is None:  # the default follows the table's size: read it first
        from synthgen.generators.defaults import default_generator, explain_default

        data = read_table(args.data, **reading(args))
        args.generator = default_generator(*data.shape)
        if main:
            print(explain_default(*data.shape))
    model = sg.make_generator(args.generator, verbose=not args.quiet, **params)
    validate_params(model)  # a bad value fails now, not after the fit
    if data is None:
        data = read_table(args.data, **reading(args))
    schema = schema_for(args, data)
    start = time.perf_counter()
    model.fit(data, schema=schema)
    if main:  # the ranks hold identical weights: one writes the file
        model.save(args.output)
        print(
            f"fitted {args.generator} on {len(data):,} rows x {data.shape[1]} columns "
            f"in {time.perf_counter() - start:.1f} s -> {args.output}"
        )
    distributed.finish()  # the other ranks wait for the file before exiting


def _cmd_sample(args: argparse.Namespace) -> None:
    import synthgen as sg
    from synthgen.tabular_io import check_table_path, write_table

    if is_relational_model(args.model):
        return sample_tables(args)
    if args.n is None:
        raise ConfigurationError("-n (the number of rows) is required to sample a table")
    if args.chunk_size is not None or args.ray or args.jobs is not None:  # at flat memory
        return sample_chunked(args)
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
    options = reading(args)
    real = read_table(args.real, **options)
    synthetic = read_table(args.synthetic, **options)
    holdout = read_table(args.holdout, **options) if args.holdout else None
    schema = sg.Schema.from_json(Path(args.schema)).complete(real) if args.schema else None
    report = evaluate_function(args)(  # sg.evaluate, or on Ray with --ray
        real=real,
        synthetic=synthetic,
        holdout=holdout,
        target=args.target,
        schema=schema,
        random_state=args.random_state,
        verbose=not args.quiet,
        generator=args.generator,
        data_name=Path(args.real).name,
    )
    table = report.summary()[["group", "metric", "value", "interval", "ideal", "status"]]
    print(table.to_string(index=False))
    for group, found in report.verdicts.items():
        print(f"{group} verdict: {found['verdict']}")
        for reason in found["reasons"]:
            print(f"  {reason}")
    if args.report:
        report.to_html(args.report)
        print(f"report -> {args.report}")
    if args.json:
        report.to_json(args.json)
        print(f"metrics -> {args.json}")


def _cmd_schema(args: argparse.Namespace) -> None:
    import synthgen as sg
    from synthgen.tabular_io import read_table

    if args.output is not None:
        check_output_path(args.output, what="schema")
    data = read_table(args.data, **reading(args))
    schema = sg.Schema.infer(data, kinds=pairs(args.kind, "--kind"))
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
    parser.add_argument("--version", action="version", version=f"synthgen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", help="fit a generator on a CSV/Parquet table and save it")
    p.add_argument(
        "data",
        help="input table (.csv, .csv.gz, .tsv, .tsv.gz, .parquet), a folder of linked tables (one "
        "file per table), or with --parts one table's folder of Parquet files",
    )
    p.add_argument("-g", "--generator", default=None, help=_DEFAULT_HELP)
    p.add_argument("-o", "--output", required=True, help="model file to write (.sgm)")
    p.add_argument("--schema", help="schema JSON to use instead of inferring one")
    p.add_argument(
        "--metadata", help="linked tables: keys and links JSON (see 'metadata'; default: detected)"
    )
    p.add_argument("--random-state", type=int, default=None)
    p.add_argument("--param", action="append", default=[], help="generator parameter KEY=VALUE")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_kind_option(p)
    add_reading_options(p)
    add_parts_options(p)
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("sample", help="draw rows from a saved model")
    p.add_argument("model", help="model file written by 'fit'")
    p.add_argument("-n", type=int, default=None, help="number of rows (one table)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="table to write (.csv or .parquet); for linked tables a folder",
    )
    p.add_argument("--random-state", type=int, default=None)
    p.add_argument("--device", default=None, help="cpu, cuda, ... (default: as saved)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_chunk_options(p)
    p.add_argument(
        "--overwrite",
        "--force",
        dest="overwrite",
        action="store_true",
        help="replace an existing output (files of linked tables already there)",
    )
    g = p.add_argument_group("linked tables")
    g.add_argument(
        "--scale", type=float, default=1.0, help="rows of each root table x scale (default 1)"
    )
    g.add_argument("--format", choices=FORMATS, default="csv", help="file format of the tables")
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
    p.add_argument(
        "--generator", default=None, help="what made the synthetic rows (for the report)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_evaluate_options(p)
    add_reading_options(p)
    p.set_defaults(func=_cmd_evaluate)

    add_export_command(sub, _DEFAULT_HELP)

    p = sub.add_parser("schema", help="print or write the inferred schema of a table")
    p.add_argument("data")
    p.add_argument("-o", "--output", default=None, help="JSON file to write")
    add_kind_option(p)
    add_reading_options(p)
    p.set_defaults(func=_cmd_schema)

    add_metadata_command(sub)
    add_info_command(sub)

    p = sub.add_parser("list", help="list the available generators")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("demo", help="synthesise the bundled Adult census table")
    p.add_argument("--output", default="demo_output", help="folder for the results")
    p.add_argument("-g", "--generator", default=None, help=_DEFAULT_HELP)
    p.add_argument("--random-state", type=int, default=0)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``synthgen`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            status = args.func(args)
        sys.stdout.flush()
    except SynthgenError as err:
        print(f"synthgen: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of our output went away (``| head``): stop quietly, and point stdout
        # at /dev/null so the flush at exit does not fail again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # stdout without a file descriptor (captured)
            pass
        return EXIT_BROKEN_PIPE
    return int(status or 0)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """synthgen's warnings as one line on stderr (no file name, no source line)."""
    if issubclass(category, UserWarning) and category.__module__.startswith("synthgen"):
        print(f"synthgen: warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
