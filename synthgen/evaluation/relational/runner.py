"""The :func:`evaluate_tables` entry point: every multi-table metric into one report."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from synthgen.evaluation.relational import links, subjects
from synthgen.evaluation.relational.html import count_histogram
from synthgen.evaluation.relational.keys import check_tables, sequence_link, subject_root
from synthgen.evaluation.relational.limits import RelationalLimits
from synthgen.evaluation.relational.report import RelationalReport
from synthgen.evaluation.relational.tables import (
    comparable_columns,
    parent_child_trends,
    table_metrics,
    table_schema,
    value_columns,
)
from synthgen.exceptions import EvaluationError
from synthgen.schema.metadata import Metadata

__all__ = ["evaluate_tables"]


def _same_columns(train: dict, other: dict, what: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name, df in train.items():
        o = other[name]
        missing = [c for c in df.columns if c not in o.columns]
        extra = [c for c in o.columns if c not in df.columns]
        if missing or extra:
            raise EvaluationError(
                f"{what} table {name!r} does not have the columns of train: missing {missing}, "
                f"unexpected {extra}"
            )
        out[name] = o[list(df.columns)]
    return out


def _fk_scope(fk) -> str:
    return f"{fk.child}.{fk.column} -> {fk.parent}"


def _subject_sample(n: int, cap: int, rng: np.random.Generator) -> np.ndarray | None:
    return None if n <= cap else np.sort(rng.choice(n, cap, replace=False))


def evaluate_tables(
    train: Mapping[str, pd.DataFrame],
    synthetic: Mapping[str, pd.DataFrame],
    metadata: Metadata,
    *,
    holdout: Mapping[str, pd.DataFrame] | None = None,
    random_state: int | None = 0,
    limits: RelationalLimits | None = None,
    root: str | None = None,
    generator: str | None = None,
    data_name: str | None = None,
) -> RelationalReport:
    """Measure how faithful a set of synthetic linked tables is, table by table, link by link
    and subject by subject.

    Parameters
    ----------
    train : dict of str to DataFrame
        The real tables the generator learned from (every table of ``metadata``).
    synthetic : dict of str to DataFrame
        The synthetic tables, with the columns of ``train``. Their keys are not required to
        be valid: broken keys are what the integrity metrics count.
    metadata : Metadata
        Keys, links and sequence order (:class:`synthgen.schema.metadata.Metadata`).
    holdout : dict of str to DataFrame, optional
        Real subjects the generator never saw (see
        :func:`~synthgen.evaluation.relational.split_subjects`): the reference of the subject
        detection (train otherwise) and needed by the subject distance to closest record.
    random_state : int, optional
        Seed of every sample (rows, column pairs, subjects, folds, models).
    limits : RelationalLimits, optional
        Row and pair caps (defaults bound a report on a few hundred thousand rows to seconds).
    root : str, optional
        The subject table, when the metadata has several roots.
    generator, data_name : str, optional
        Named at the top of the HTML page and kept in ``meta``.

    Returns
    -------
    RelationalReport

    Raises
    ------
    EvaluationError
        A table or key column is missing, or a synthetic table has other columns than its
        train table.

    Examples
    --------
    >>> from synthgen.schema.metadata import ForeignKey, TableMeta
    >>> rng = np.random.default_rng(0)
    >>> users = pd.DataFrame({"id": range(60), "age": rng.integers(18, 80, 60)})
    >>> buys = pd.DataFrame({"users_id": rng.integers(0, 60, 200),
    ...                      "day": rng.integers(0, 100, 200), "amt": rng.gamma(2, 10, 200)})
    >>> meta = Metadata([TableMeta("users", "id"), TableMeta("buys", None, "day")],
    ...                 [ForeignKey("buys", "users_id", "users", "id")])
    >>> report = evaluate_tables({"users": users, "buys": buys},
    ...                          {"users": users, "buys": buys}, meta)
    >>> s = report.summary()
    >>> s["cardinality_shape"], s["fk_resolution"], s["duplicate_primary_keys"]
    (1.0, 1.0, 0)
    """
    limits = limits or RelationalLimits()
    if not isinstance(limits, RelationalLimits):
        raise EvaluationError(f"limits must be RelationalLimits, got {type(limits).__name__}")
    train = check_tables(train, metadata, "train")
    synthetic = _same_columns(train, check_tables(synthetic, metadata, "synthetic"), "synthetic")
    if holdout is not None:
        holdout = _same_columns(train, check_tables(holdout, metadata, "holdout"), "holdout")
    root = subject_root(metadata, root)
    rng = np.random.default_rng(random_state)
    start = time.perf_counter()
    timings: dict[str, float] = {}
    entries: list[tuple[str, str, Any]] = []
    plots: list[dict[str, Any]] = []
    order = metadata.topological_order()
    schemas, values, left_out = {}, {}, {}
    for t in order:
        data_cols = value_columns(metadata, t, train[t])
        schemas[t] = table_schema(train[t][data_cols])
        values[t], left_out[t] = comparable_columns(train[t][data_cols], schemas[t])
    with threadpool_limits(limits=1, user_api="openmp"):
        t0 = time.perf_counter()
        for t in order:
            found = table_metrics(
                t, train[t][values[t]], synthetic[t][values[t]], schemas[t], limits, rng
            )
            entries += [("tables", t, m) for m in found]
        timings["tables"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        for fk in metadata.foreign_keys:
            scope = _fk_scope(fk)
            entries.append(("relationships", scope, links.cardinality_shape(train, synthetic, fk)))
            plots.append(
                count_histogram(
                    f"children per {fk.parent} ({fk.child})",
                    links.children_per_parent(train, fk),
                    links.children_per_parent(synthetic, fk),
                )
            )
            m = parent_child_trends(train, synthetic, fk, values, limits, rng)
            entries.append(("relationships", scope, m))
        timings["relationships"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        for t in order:
            link, seq = sequence_link(metadata, t), metadata.tables[t].sequence_key
            if link is None or seq is None:
                continue
            found, raw = links.sequence_metrics(t, train[t], synthetic[t], link, seq, schemas[t])
            entries += [("sequences", t, m) for m in found]
            for what, (r, s) in raw.items():
                if len(r):
                    plots.append(count_histogram(f"{what} ({t})", r, s))
        timings["sequences"] = time.perf_counter() - t0

        for fk in metadata.foreign_keys:
            entries.append(("integrity", _fk_scope(fk), links.fk_resolution(train, synthetic, fk)))
        for t in order:
            pk = metadata.tables[t].primary_key
            if pk is not None:
                entries.append(("integrity", t, links.duplicate_keys(t, synthetic[t], pk)))

        t0 = time.perf_counter()
        entries += [("subjects", root, m) for m in _subject_metrics(
            train, synthetic, holdout, metadata, root, schemas, values, limits, rng
        )]  # fmt: skip
        timings["subjects"] = time.perf_counter() - t0
    meta = {
        "generator": generator,
        "data_name": data_name,
        "subject_table": root,
        "rows": {
            t: {
                "train": len(train[t]),
                "synthetic": len(synthetic[t]),
                **({"holdout": len(holdout[t])} if holdout is not None else {}),
            }
            for t in order
        },
        "metadata": metadata.to_dict(),
        "left_out": {t: why for t, why in left_out.items() if why},
        "random_state": random_state,
        "limits": limits.to_dict(),
        "timings_s": {
            **{k: round(v, 3) for k, v in timings.items()},
            "total": round(time.perf_counter() - start, 3),
        },
    }
    return RelationalReport(entries, meta, {"plots": plots})


def _subject_metrics(train, synthetic, holdout, metadata, root, schemas, columns, limits, rng):
    """Subject records of each frame (a seeded sample of subjects), then detection and DCR."""
    top = subjects.top_category_labels(train, metadata, schemas, columns, limits.top_categories)
    frames = {"train": train, "synthetic": synthetic}
    if holdout is not None:
        frames["holdout"] = holdout
    records = {}
    for what, tables in frames.items():
        keep = _subject_sample(len(tables[root]), limits.subject_rows, rng)
        records[what] = subjects.subject_records(
            tables, metadata, root, schemas, columns, top, keep, what
        )
    # an aggregate with no value in train (a std of one-event sequences only) says nothing
    empty = [c for c in records["train"].columns if records["train"][c].isna().all()]
    records = {k: v.drop(columns=empty) for k, v in records.items()}
    if records["train"].shape[1] == 0:
        return [subjects.no_records_metric()]
    root_cols = [c for c in records["train"].columns if c in train[root].columns]
    schema = subjects.record_schema(records["train"], root_cols)
    ref = "holdout" if holdout is not None else "train"
    out = [
        subjects.subject_detection(
            records[ref], records["synthetic"], schema, limits, rng, reference_name=ref
        )
    ]
    if holdout is not None:
        out.append(
            subjects.subject_dcr(
                records["train"], records["holdout"], records["synthetic"], schema, limits, rng
            )
        )
    return out
