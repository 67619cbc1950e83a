"""``synthgen export``: a privacy-safe synthetic copy, written only when the verdict passes.

``synthgen export data.csv -o synthetic.csv`` reads the table into memory
(:func:`synthgen.export`); ``synthgen export big/ -o synthetic/ --parts`` reads a folder of
Parquet parts (or one Parquet or CSV file) part by part and writes the synthetic rows as
Parquet parts (or one CSV file) chunk by chunk (:func:`synthgen.export_parts`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from synthgen.cli.options import add_kind_option, add_reading_options, pairs, reading, schema_for
from synthgen.exceptions import ConfigurationError

__all__ = ["EXIT_NOT_SAFE", "add_export_command"]

#: Exit status of ``synthgen export`` when the privacy verdict does not pass.
EXIT_NOT_SAFE = 3


def _run_in_memory(args: argparse.Namespace, params: dict[str, Any]) -> Any:
    import synthgen as sg
    from synthgen.tabular_io import read_table

    data = read_table(args.data, **reading(args))
    schema = schema_for(args, data)
    if args.generator is None and args.epsilon is None:
        from synthgen.generators.defaults import explain_default

        # the default is chosen from the training rows export keeps (80% by default)
        print(explain_default(round(len(data) * 0.8), data.shape[1]))
    return sg.export(
        data,
        generator=args.generator,
        params=params,
        target=args.target,
        schema=schema,
        epsilon=args.epsilon,
        delta=args.delta,
        output=args.output,
        report=args.report,
        force=args.force,
        random_state=args.random_state,
        verbose=not args.quiet,
        data_name=Path(args.data).name,
    )


def _run_in_parts(args: argparse.Namespace, params: dict[str, Any]) -> Any:
    import synthgen as sg

    if args.epsilon is not None:
        raise ConfigurationError(
            "--parts has no differential privacy: export a table that fits in memory with --epsilon"
        )
    if args.kind:
        raise ConfigurationError("--kind needs the table in memory: with --parts use --schema")
    csv = {k: v for k, v in reading(args).items() if v is not None} or None
    return sg.export_parts(
        args.data,
        args.output,
        generator=args.generator or "copula",
        params=params,
        target=args.target,
        schema=sg.Schema.from_json(Path(args.schema)) if args.schema else None,
        report=args.report,
        force=args.force,
        overwrite=args.overwrite,
        random_state=args.random_state,
        verbose=not args.quiet,
        data_name=Path(args.data).name,
        fit_rows=args.fit_rows,
        sample_rows=args.sample_rows,
        chunk_rows=args.chunk_rows,
        csv=csv,
    )


def _cmd_export(args: argparse.Namespace) -> int:
    params = pairs(args.param, "--param", parse=True)
    run = _run_in_parts if args.parts else _run_in_memory
    result = run(args, params)
    if result.changes:
        print("what the protections changed:")
        for line in result.changes:
            print(f"  {line}")
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
        rows = result.log["rows"]["synthetic"] if args.parts else len(result.synthetic)
        print(f"wrote {rows:,} synthetic rows -> {args.output}")
    else:
        print("no data written: the privacy verdict did not pass (use --force to override)")
        if result.removed_old_output:
            print(f"removed the older {args.output} so it is not taken for this run's result")
    return 0 if result.verdict == "pass" else EXIT_NOT_SAFE


def add_export_command(sub: Any, default_help: str) -> None:
    """The ``export`` command and its options."""
    p = sub.add_parser(
        "export", help="privacy-safe synthetic copy: written only if the privacy verdict passes"
    )
    p.add_argument("data", help="the sensitive table (with --parts: a folder of Parquet parts)")
    p.add_argument(
        "-g",
        "--generator",
        default=None,
        help=default_help + "; dp_marginals with --epsilon; copula with --parts",
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
    add_kind_option(p)
    add_reading_options(p)
    g = p.add_argument_group("tables larger than memory (--parts)")
    g.add_argument(
        "--parts",
        action="store_true",
        help="read DATA part by part (a Parquet folder or file, or a CSV file) and write -o "
        "chunk by chunk (a Parquet folder, or a CSV file for .csv/.csv.gz/.tsv/.tsv.gz)",
    )
    g.add_argument("--overwrite", action="store_true", help="replace an existing -o")
    g.add_argument("--fit-rows", type=int, default=1_000_000, help="rows the encoder is fitted on")
    g.add_argument(
        "--sample-rows", type=int, default=200_000, help="rows of each sample the report judges"
    )
    g.add_argument(
        "--chunk-rows", type=int, default=1_000_000, help="synthetic rows per written chunk"
    )
    p.set_defaults(func=_cmd_export)
