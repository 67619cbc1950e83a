"""The :func:`evaluate` entry point: check the frames, run every metric group, build a report."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from synthgen.evaluation.data import PreparedData, prepare
from synthgen.evaluation.distributions import MAX_PLOT_CATEGORIES
from synthgen.evaluation.groups import (
    GROUPS,
    MAX_PLOT_COLUMNS,
    GroupResult,
    assemble,
    group_streams,
    rows_stream,
    run_group,
)
from synthgen.evaluation.manifest import dp_ledger, package_versions
from synthgen.evaluation.privacy import DIAGNOSTIC_METRICS, privacy_verdict
from synthgen.evaluation.report import Report
from synthgen.evaluation.rowcap import cap_rows, copies_of
from synthgen.evaluation.thresholds import EvaluationLimits, PrivacyThresholds
from synthgen.schema import Schema

__all__ = ["MAX_PLOT_CATEGORIES", "MAX_PLOT_COLUMNS", "GroupRunner", "evaluate", "run_in_process"]

#: ``runner(prep, streams, limits, thresholds, refit, originals, verbose)`` -> group -> result.
GroupRunner = Callable[..., dict[str, GroupResult]]


def run_in_process(
    prep: PreparedData,
    streams: dict[str, np.random.Generator],
    limits: EvaluationLimits,
    thresholds: PrivacyThresholds,
    refit: Callable[[pd.DataFrame, int], pd.DataFrame] | None,
    originals: dict[str, pd.DataFrame] | None,
    verbose: bool,
) -> dict[str, GroupResult]:
    """Run the metric groups one after another in this process."""
    results: dict[str, GroupResult] = {}
    with tqdm(GROUPS, desc="evaluating", disable=not verbose, leave=False) as bar:
        for name in bar:
            bar.set_postfix_str(name)
            results[name] = run_group(
                name, prep, limits, thresholds, streams[name], refit=refit, originals=originals
            )
    return results


def evaluate(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    target: str | None = None,
    schema: Schema | None = None,
    random_state: int | None = 0,
    verbose: bool = False,
    *,
    thresholds: PrivacyThresholds | None = None,
    limits: EvaluationLimits | None = None,
    generator: str | None = None,
    data_name: str | None = None,
    refit: Callable[[pd.DataFrame, int], pd.DataFrame] | None = None,
    privacy: dict[str, Any] | None = None,
    _run_groups: GroupRunner | None = None,
) -> Report:
    """Measure how faithful, useful and private a synthetic table is.

    Parameters
    ----------
    real : DataFrame
        The training rows the generator learned from.
    synthetic : DataFrame
        The synthetic rows, with the columns of ``real``.
    holdout : DataFrame, optional
        Real rows the generator never saw (at least 20). Without it, detection, utility and the
        distance-based privacy metrics are skipped, and the privacy verdict is at best
        ``"warn"``.
    target : str, optional
        Column to predict for the utility metrics (classification if categorical, regression
        if numeric). Without it, utility is skipped.
    schema : Schema, optional
        Column kinds; inferred from ``real`` when ``None``. Id and constant columns are left
        out, text is treated as categorical and datetimes as numbers.
    random_state : int, optional
        Seed of every random choice (subsamples, folds, models). Each metric group
        (:data:`~synthgen.evaluation.groups.GROUPS`) draws from its own stream spawned from
        it, so the groups can run apart (:func:`synthgen.ray_evaluation.evaluate_ray`) and
        give the same figures.
    verbose : bool
        Show a progress bar over the metric groups.
    thresholds : PrivacyThresholds, optional
        Limits of the privacy verdict.
    limits : EvaluationLimits, optional
        Row caps of the costly metrics, and of every frame (``max_rows``, a million: a
        longer frame is sampled; exact copies are still sought among every real row).
    generator, data_name : str, optional
        What made the synthetic rows and what the real table is (a file name, a description):
        kept in ``meta`` and named at the top of the HTML report.
    refit : callable, optional
        ``refit(table, n_rows) -> DataFrame``: fits the generator that made ``synthetic`` (same
        family and settings) on ``table`` and returns ``n_rows`` rows. Enables the shadow-model
        membership attack; ``sg.shadow_refit(model)`` makes one from a fitted
        model.
    privacy : dict, optional
        A differentially private model's ``privacy_`` record: the report shows its
        epsilon/delta ledger with the accountant (``meta["differential_privacy"]``).

    _run_groups : callable, optional
        Runs the metric groups (:func:`run_in_process` by default; Ray's in
        :mod:`synthgen.ray_evaluation`).

    Returns
    -------
    Report

    Raises
    ------
    EvaluationError
        The frames cannot be compared (see :func:`synthgen.evaluation.data.prepare`).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b"], 200)})
    >>> report = evaluate(df.iloc[:100], df.iloc[:100], holdout=df.iloc[100:],
    ...                   limits=EvaluationLimits(hgb_max_iter=10, anonymeter_attacks=50))
    >>> report.privacy_verdict
    'fail'
    >>> report["exact_copy_rate"].value
    1.0
    """
    thresholds = thresholds or PrivacyThresholds()
    limits = limits or EvaluationLimits()
    start = time.perf_counter()
    inputs = {"real": real, "synthetic": synthetic, "holdout": holdout}
    capped = cap_rows(inputs, limits.max_rows, rows_stream(random_state))
    frames = capped.frames
    prep = prepare(
        frames["real"], frames["synthetic"], frames.get("holdout"), target=target, schema=schema
    )
    if "real" in capped.given:  # copies of any real row, not only of the sampled ones
        prep.copies.update(
            copies_of(prep, tuple(f for f in prep.frames if f != "real"), capped.real)
        )
    prepared_s = round(time.perf_counter() - start, 3)  # checks, sample, coding, copies
    streams = group_streams(random_state)
    # the shadow attack refits on the rows as given (a pandas frame), in the prepared order
    originals = {"holdout": frames["holdout"]} if isinstance(holdout, pd.DataFrame) else None
    runner = _run_groups or run_in_process
    results = runner(prep, streams, limits, thresholds, refit, originals, verbose)
    metrics, artifacts, attacks = assemble(results)
    timings = {name: results[name].seconds for name in GROUPS}
    meta = {
        "generator": generator,
        "data_name": data_name,
        "rows": {f: prep.n_rows(f) for f in prep.frames},
        "sampled_rows": dict(capped.given),
        "columns": dict(prep.kinds),
        "excluded": dict(prep.excluded),
        "target": target,
        "random_state": random_state,
        "thresholds": thresholds.to_dict(),
        "limits": limits.to_dict(),
        "timings_s": {
            "prepare": prepared_s,
            **timings,
            "total": round(time.perf_counter() - start, 3),
        },
        "privacy_attacks": attacks,
        "privacy_diagnostics": {
            "metrics": list(DIAGNOSTIC_METRICS),
            "note": "diagnostics, not evidence of privacy",
        },
        "manifest": {
            "random_state": random_state,
            "attack_seed": None if attacks is None else attacks["seed"],
            "split": None if attacks is None else attacks["sizes"],
            "versions": package_versions(),
        },
    }
    ledger = dp_ledger(privacy)
    if ledger is not None:
        meta["differential_privacy"] = ledger
    return Report(metrics, privacy_verdict(metrics), meta, artifacts)
