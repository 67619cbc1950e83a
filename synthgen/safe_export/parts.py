"""Privacy-safe export of a table larger than memory, read and written in parts.

``sg.export_parts("big/", "synthetic/", generator="copula", target="income",
report="privacy.html")`` does what :func:`~synthgen.safe_export.export` does, on a folder of
Parquet parts (or one CSV file) that need not fit in memory, and writes the synthetic rows
as Parquet parts (or one CSV file) chunk by chunk:

1. **Split** (one pass): each row is a holdout row when its uniform draw, from one seeded
   stream in table order, is below ``holdout_share``; the training rows are written as
   parts to a working folder next to ``output``. Seeded uniform samples of at most
   ``sample_rows`` training and holdout rows are kept in memory.
2. **Schema**: inferred from the training sample (structure rules kept only where every
   training row meets them), or given.
3. **Protections** (two passes): rare labels and clip bounds are decided from *every*
   training row (exact label counts; exact quantiles of every value of each numeric and
   datetime column, which wait on disk and are read back one column at a time; a column of
   over a million text labels spills its counts to disk,
   :mod:`synthgen.privacy.label_counts`), then applied part by part
   (:mod:`synthgen.privacy.plan`): exactly what :func:`export` does to the whole table.
4. **Fit** (:func:`~synthgen.generators.sharded.fit_parts` with ``fit_rows``): the copula's
   correlation, or a neural generator's training rows, from every protected row, one row
   group at a time; the schema's labels and missing rates from exact counts.
5. **Copy filter**: every protected training row coded (eight bytes a cell) into files on
   disk, partitioned by its categorical combination (:mod:`synthgen.privacy.spilled`); the
   near-copy limit and the holdout's duplicate rate from the holdout sample.
6. **Draw** in rounds (:mod:`synthgen.safe_export.rounds`): blocks of 65,536 rows, each
   block and its redraws from its own seeded generator, every block drawn and checked one
   partition at a time, then the rows each dropped redrawn and checked, and so on; the
   kept rows drawn again from their seeds, identifiers numbered over the whole output,
   written ``chunk_rows`` at a time to a hidden folder next to ``output`` (the same rows
   whatever ``chunk_rows``). A near-copy limit of 1 or more is checked by keys: the
   training rows spilled again by the labels of each set of columns a near copy must share
   (:mod:`synthgen.privacy.spilled_near`); only where those sets would meet most training
   rows is the filter held in memory, each block checked as it is drawn.
7. **Evaluate** the training sample, the first ``sample_rows`` synthetic rows and the
   holdout sample (:func:`~synthgen.evaluation.evaluate`, with the seed): the report says
   it judged samples. The output is moved into place only when the verdict passes (or
   ``force``); otherwise it is removed, and an older output at ``output`` too.

Peak memory is the samples, one part, one numeric column's values (while the clip bounds
are planned), a million labels of a column (or the labels the protections keep), one
partition of the copy filter (about a million training rows, their groups and k-d tree), and
five bytes a synthetic row of a round while it is checked: not the table, nor the training
rows coded (nor, with a near-copy limit of 1 or more, unless the filter falls back to
memory).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from synthgen.csv_parts import csv_to_parts, is_csv
from synthgen.evaluation import EvaluationLimits, evaluate
from synthgen.exceptions import ConfigurationError, DataError, PersistenceError
from synthgen.files import check_output_path
from synthgen.generators.registry import make_generator
from synthgen.generators.sharded import fit_parts
from synthgen.generators.streamed import holding_everywhere
from synthgen.parquet_parts import ParquetParts
from synthgen.privacy.protections import Protections, protected_schema
from synthgen.safe_export import (
    ATTACK_LEVELS,
    ExportResult,
    _export_refit,
)
from synthgen.safe_export.passes import exact_schema, protect_parts, split_parts
from synthgen.safe_export.rounds import FilterSource, filtered_blocks, write_blocks
from synthgen.safe_export.verdict import settle_verdict
from synthgen.sampling.chunked import check_request, check_target
from synthgen.sampling.writer import ChunkWriter, move_into_place
from synthgen.schema import Schema
from synthgen.utils import check_random_state

__all__ = ["export_parts"]


def _check_args(output, report, attacks, holdout_share, sample_rows, chunk_rows, overwrite):
    target = Path(os.fspath(output))
    _, chunk, fmt = check_request(1, chunk_rows, None, target, None)
    check_target(target, overwrite)
    if report is not None:
        check_output_path(report, what="report")
    if attacks not in ATTACK_LEVELS:
        raise ConfigurationError(f"attacks must be one of {ATTACK_LEVELS}, got {attacks!r}")
    if not 0.05 <= float(holdout_share) <= 0.5:
        raise ConfigurationError(f"holdout_share must lie in [0.05, 0.5], got {holdout_share!r}")
    if isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or sample_rows < 100:
        raise ConfigurationError(f"sample_rows must be an integer >= 100, got {sample_rows!r}")
    return target, chunk, fmt


def export_parts(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    generator: str = "copula",
    params: dict[str, Any] | None = None,
    target: str | None = None,
    schema: Schema | None = None,
    holdout_share: float = 0.2,
    protections: Protections | None = None,
    report: str | os.PathLike[str] | None = None,
    force: bool = False,
    overwrite: bool = False,
    random_state: int | None = 0,
    verbose: bool = False,
    data_name: str | None = None,
    attacks: str = "auto",
    fit_rows: int = 1_000_000,
    sample_rows: int = 200_000,
    chunk_rows: int = 1_000_000,
    csv: dict[str, Any] | None = None,
) -> ExportResult:
    """Make a synthetic copy of a table stored in parts that is safe to share, and prove it.

    See the module docstring for the passes. Differential privacy (``epsilon``) is not
    offered here: use :func:`~synthgen.safe_export.export` on a table that fits in memory.

    Parameters
    ----------
    source : path
        A folder of Parquet parts, one Parquet file, or one CSV file (``.csv``, ``.csv.gz``,
        ``.tsv``, ``.tsv.gz``; ``csv`` options as :func:`~synthgen.generators.sharded.fit_parts`
        takes).
    output : path
        A folder of Parquet parts, or a CSV file (by its suffix), written only when the
        verdict passes (or with ``force``); an existing one is replaced only with
        ``overwrite`` (a folder only when it holds nothing but Parquet parts), and removed
        when the verdict does not pass.
    generator, params, target, holdout_share, protections, report, force, random_state, \
verbose, data_name, attacks
        As for :func:`~synthgen.safe_export.export` (``generator`` is not chosen from the
        table's size: the copula by default).
    schema : Schema, optional
        Column kinds; inferred from the training sample when omitted.
    fit_rows : int
        Rows of the sample the generator's encoder is fitted on (``fit_parts``).
    sample_rows : int
        Rows of each sample the evaluation judges (training, synthetic and holdout rows),
        and of the sample the schema is inferred from.
    chunk_rows : int
        Synthetic rows drawn, filtered and written at a time.

    Returns
    -------
    ExportResult
        As :func:`export`'s, with ``synthetic`` the evaluated sample of the synthetic rows;
        ``log["rows"]`` counts the ``training`` and ``holdout`` rows, the ``synthetic`` rows
        drawn (written when ``written``) and the rows each sample ``evaluated``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> import synthgen as sg
    >>> scratch = tempfile.TemporaryDirectory()  # removed after the example
    >>> folder = pathlib.Path(scratch.name)
    >>> df = sg.datasets.load_adult().head(3000)
    >>> for i, start in enumerate(range(0, 3000, 1000)):
    ...     df.iloc[start : start + 1000].to_parquet(folder / f"part-{i}.parquet")
    >>> result = sg.export_parts(folder, folder / "synthetic", target="income")
    >>> rows = result.log["rows"]
    >>> result.verdict, result.written, rows["synthetic"] == rows["training"]
    ('pass', True, True)
    >>> len(pd.read_parquet(folder / "synthetic")) == rows["synthetic"]
    True
    """
    out_path, chunk_rows, fmt = _check_args(
        output, report, attacks, holdout_share, sample_rows, chunk_rows, overwrite
    )
    protections = protections or Protections()
    if csv and not is_csv(source):
        raise ConfigurationError("csv options (sep, dtype, na_values) are for a CSV source")
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31))
    try:
        work = Path(tempfile.mkdtemp(prefix=".synthgen-export-", dir=out_path.parent))
    except OSError as err:
        raise PersistenceError(f"cannot write next to {str(out_path)!r}: {err}") from None
    try:
        if is_csv(source):
            (work / "source").mkdir()
            csv_to_parts(source, work / "source", **(csv or {}))  # type: ignore[arg-type]
            source = work / "source"
        return _export(
            ParquetParts(source),
            work,
            out_path,
            fmt,
            dict(
                generator=generator,
                params=dict(params or {}),
                target=target,
                schema=schema,
                holdout_share=float(holdout_share),
                protections=protections,
                report=report,
                force=force,
                verbose=verbose,
                data_name=data_name,
                attacks=attacks,
                fit_rows=fit_rows,
                sample_rows=sample_rows,
                chunk_rows=chunk_rows,
            ),
            rng,
            seed,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _export(
    parts: ParquetParts,
    work: Path,
    out_path: Path,
    fmt: str,
    opt: dict[str, Any],
    rng: Any,
    seed: int,
) -> ExportResult:
    protections: Protections = opt["protections"]
    split = split_parts(parts, work / "train", opt["holdout_share"], seed, opt["sample_rows"])
    if split.n_train == 0 or split.n_holdout < 20:
        raise DataError(
            f"the table has {split.n_train:,} training and {split.n_holdout:,} holdout rows "
            "after the split; export needs rows in both (at least 20 in the holdout)"
        )
    schema = opt["schema"]
    if schema is None:
        schema = holding_everywhere(split.train, Schema.infer(split.train_sample))
    schema.validate(split.train_sample)
    protected, plan, log, counts = protect_parts(
        split.train, work / "protected", schema, protections
    )
    shutil.rmtree(work / "train", ignore_errors=True)  # read again from the samples only
    fitted_schema = protected_schema(plan.apply(split.train_sample)[0], schema)
    fitted_schema = holding_everywhere(protected, fitted_schema)
    fitted_schema = exact_schema(fitted_schema, counts, split.missing, split.n_train)
    model = make_generator(
        opt["generator"], random_state=seed, verbose=opt["verbose"], **opt["params"]
    )
    fit_rows = min(opt["fit_rows"], split.n_train)
    fit_parts(model, protected.files, fitted_schema, fit_rows=fit_rows)
    merged = {k: m["into"][0] for k, m in log["changes"]["merged"].items() if len(m["into"]) == 1}
    base = int(rng.integers(2**63 - 1))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent))
    writer = ChunkWriter(tmp, fmt, out_path)
    check: Any = None
    try:
        with tqdm(
            total=split.n_train, desc="draw and filter", unit="row", disable=not opt["verbose"]
        ) as bar:
            source = FilterSource(protected, split, fitted_schema, counts, merged, protections)
            check, blocks = filtered_blocks(model, source, base, work / "filter", bar)
            sample, kept = write_blocks(model, split.n_train, blocks, writer, opt)
        writer.close()
    except BaseException:
        writer.abort()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work / "filter", ignore_errors=True)
    copies = None
    if check is not None:
        copies = dict(check.stats, kept=kept, wanted=split.n_train)
        log["copies"] = copies
        del check
        if kept == 0:
            sample = model.sample(min(split.n_train, opt["sample_rows"]), random_state=rng)
    log["rows"] = {
        "training": split.n_train,
        "holdout": split.n_holdout,
        "synthetic": kept,
        "evaluated": {"real": len(split.train_sample), "synthetic": len(sample)},
        "holdout_evaluated": len(split.holdout_sample),
    }
    try:
        return _judge(
            split, schema, model, sample, copies, log, writer, tmp, out_path, fmt, opt, seed
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # moved into place on a pass: nothing left


def _judge(split, schema, model, sample, copies, log, writer, tmp, out_path, fmt, opt, seed):
    protections = opt["protections"]
    result_report = evaluate(
        real=split.train_sample,
        synthetic=sample,
        holdout=split.holdout_sample,
        target=opt["target"],
        schema=schema,
        random_state=seed,
        verbose=opt["verbose"],
        limits=EvaluationLimits(mask_labels_below=protections.min_category_count),
        generator=opt["generator"],
        data_name=opt["data_name"],
        refit=_export_refit(model, schema, protections, False, opt["attacks"], seed),
    )
    verdict, reasons, changes, written = settle_verdict(
        result_report, copies, log, protections, opt["force"]
    )
    removed = False
    if written:
        move_into_place(tmp, fmt, out_path, writer.output)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
        if os.path.lexists(out_path):  # an older output would look like this run's result
            try:
                shutil.rmtree(out_path) if out_path.is_dir() else os.remove(out_path)
            except OSError as err:
                raise PersistenceError(
                    f"the privacy verdict did not pass, and the older output at "
                    f"{str(out_path)!r} could not be removed: {err.strerror or err}"
                ) from None
            removed = True
    if opt["report"] is not None:
        result_report.to_html(opt["report"])
    return ExportResult(
        sample,
        result_report,
        verdict,
        written,
        model,
        log,
        None,
        reasons,
        changes,
        removed_old_output=removed,
    )
