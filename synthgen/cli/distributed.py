"""Options for several processes and Ray: ``synthgen fit FOLDER --parts`` (one table stored
as Parquet parts; under ``torchrun`` each process reads only its share of them, see
:mod:`synthgen.generators.sharded`) and ``synthgen evaluate --ray`` / ``--max-rows``."""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path
from typing import Any

from synthgen.exceptions import ConfigurationError

__all__ = ["add_evaluate_options", "add_parts_options", "evaluate_function", "fit_from_parts"]


def add_parts_options(p: argparse.ArgumentParser) -> None:
    """The ``--parts`` and ``--fit-rows`` options of ``fit``."""
    g = p.add_argument_group("one table in Parquet parts")
    g.add_argument(
        "--parts",
        action="store_true",
        help="DATA is one table stored as Parquet files (a folder, read in name order, or one "
        "file): under torchrun each process reads only its share of the row groups; or one "
        "large CSV file, rewritten as Parquet parts in a temporary folder (two passes, one "
        "chunk in memory at a time)",
    )
    g.add_argument(
        "--fit-rows",
        type=int,
        default=None,
        help="with --parts: rows (a seeded sample) the schema and encoder are fitted on "
        "(default: every row); under torchrun on rank 0; in one process the table is then "
        "read one row group at a time, never all in memory as a table: the copula keeps "
        "moments, a neural generator (without --epsilon) its compact encoded rows",
    )


def fit_from_parts(args: argparse.Namespace, params: dict[str, Any]) -> None:
    """``synthgen fit DATA --parts -o MODEL`` (DATA a CSV file: rewritten as Parquet parts in
    a temporary folder first, :mod:`synthgen.csv_parts`)."""
    from synthgen.cli.options import reading
    from synthgen.csv_parts import csv_to_parts, is_csv

    if not is_csv(args.data):
        if args.sep or args.dtype or args.na_values:
            raise ConfigurationError(
                "--sep, --dtype and --na-values read CSV files, not Parquet parts"
            )
        return _fit_parts_folder(args, params, args.data, "Parquet files")
    with tempfile.TemporaryDirectory(prefix="synthgen-csv-") as folder:
        csv_to_parts(args.data, folder, **reading(args))
        return _fit_parts_folder(args, params, folder, "Parquet parts of the CSV file")


def _fit_parts_folder(
    args: argparse.Namespace, params: dict[str, Any], source: str, what: str
) -> None:
    import synthgen as sg
    from synthgen.generators.defaults import default_generator, explain_default
    from synthgen.generators.params import validate_params
    from synthgen.generators.sharded import fit_parts
    from synthgen.parquet_parts import ParquetParts
    from synthgen.training import distributed

    main = distributed.is_main_process()
    for flag, given in (("--metadata", args.metadata), ("--kind", args.kind)):
        if given:
            raise ConfigurationError(f"{flag} does not go with --parts (use --schema)")
    parts = ParquetParts(source)  # a bad folder or a part that differs fails now
    if args.generator is None:
        args.generator = default_generator(parts.n_rows, len(parts.columns))
        if main:
            print(explain_default(parts.n_rows, len(parts.columns)))
    model = sg.make_generator(args.generator, verbose=not args.quiet, **params)
    validate_params(model)
    schema = sg.Schema.from_json(Path(args.schema)) if args.schema else None
    start = time.perf_counter()
    fit_parts(model, parts.files, schema=schema, fit_rows=args.fit_rows)
    if main:
        model.save(args.output)
        print(
            f"fitted {args.generator} on {parts.n_rows:,} rows x {len(parts.columns)} columns "
            f"({len(parts.files)} {what}) in {time.perf_counter() - start:.1f} s "
            f"-> {args.output}"
        )
    distributed.finish()


def add_evaluate_options(p: argparse.ArgumentParser) -> None:
    """The ``--ray`` and ``--max-rows`` options of ``evaluate``."""
    p.add_argument(
        "--ray",
        action="store_true",
        help="run the metric groups as Ray tasks (pip install 'synthgen[ray]'; a local Ray, "
        "or the cluster of RAY_ADDRESS): the same report",
    )
    p.add_argument(
        "--max-rows",
        type=int,
        default=None,
        help="most rows read of each table; a longer one is sampled with --random-state, "
        "exact copies still sought among every real row (0: no cap; default 1000000)",
    )


def evaluate_function(args: argparse.Namespace) -> Any:
    """``sg.evaluate``, or :func:`synthgen.ray_evaluation.evaluate_ray` with ``--ray``, with
    the limits of ``--max-rows``."""
    from synthgen.evaluation import EvaluationLimits

    limits = EvaluationLimits()
    if args.max_rows is not None:
        limits = EvaluationLimits(max_rows=args.max_rows)
    if args.ray:
        from synthgen.ray_evaluation import evaluate_ray

        return functools.partial(evaluate_ray, limits=limits)
    import synthgen as sg

    return functools.partial(sg.evaluate, limits=limits)
