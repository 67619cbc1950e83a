"""The independent metric groups of one evaluation, each on a random stream of its own.

:func:`~synthgen.evaluation.evaluate` runs six groups: the fidelity metrics, the detection
classifier, utility (TSTR/TRTR), the privacy diagnostics and Anonymeter-style risks, the
membership and model-inference attacks, and the report's plots. Each group draws from its own
stream, spawned from ``random_state`` (:func:`group_streams`), and needs nothing from the
others, so the groups can run in any order or at once (on Ray workers,
:mod:`synthgen.ray_evaluation`) and give the same figures; :func:`assemble` puts their
results together in the report's order.

Examples
--------
>>> import pandas as pd
>>> from synthgen.evaluation.data import prepare
>>> from synthgen.evaluation.thresholds import EvaluationLimits, PrivacyThresholds
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"x": rng.normal(size=60), "c": rng.choice(["a", "b"], 60)})
>>> prep = prepare(df, df)
>>> done = run_group("fidelity", prep, EvaluationLimits(), PrivacyThresholds(),
...                  group_streams(0)["fidelity"])
>>> done.metrics[0].name, done.metrics[0].value
('column_shapes', 1.0)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from synthgen.evaluation.data import PreparedData
from synthgen.evaluation.distributions import binned_distributions
from synthgen.evaluation.fidelity import association_matrix, detection_metric, fidelity_metrics
from synthgen.evaluation.metrics import MetricResult
from synthgen.evaluation.privacy import attack_group, merge_attacks, privacy_metrics
from synthgen.evaluation.thresholds import EvaluationLimits, PrivacyThresholds
from synthgen.evaluation.utility import utility_metrics

__all__ = [
    "GROUPS",
    "MAX_PLOT_COLUMNS",
    "GroupResult",
    "assemble",
    "group_streams",
    "rows_stream",
    "run_group",
]

#: The metric groups of an evaluation, in the order they are run in one process.
GROUPS: tuple[str, ...] = ("fidelity", "detection", "utility", "privacy", "attacks", "plots")

#: Columns drawn in the HTML report (the first ones of the table).
MAX_PLOT_COLUMNS = 20


@dataclass
class GroupResult:
    """What one group found: metrics, report artifacts, the attack table, seconds taken."""

    name: str
    metrics: list[MetricResult] = field(default_factory=list)
    artifacts: dict[str, Any] = field(default_factory=dict)
    attacks: dict[str, Any] | None = None
    seconds: float = 0.0


def group_streams(random_state: Any) -> dict[str, np.random.Generator]:
    """One independent random stream per group, spawned from ``random_state`` (the same
    seed gives the same streams, whichever group runs first or where).

    Examples
    --------
    >>> a, b = group_streams(3), group_streams(3)
    >>> float(a["utility"].random()) == float(b["utility"].random())
    True
    """
    streams = np.random.default_rng(random_state).spawn(len(GROUPS))
    return dict(zip(GROUPS, streams, strict=True))


def rows_stream(random_state: Any) -> np.random.Generator:
    """The stream that samples the rows of frames longer than ``EvaluationLimits.max_rows``:
    spawned from ``random_state`` after the groups' streams, so it changes none of them.

    Examples
    --------
    >>> float(rows_stream(3).random()) == float(rows_stream(3).random())
    True
    >>> float(rows_stream(3).random()) == float(group_streams(3)["fidelity"].random())
    False
    """
    return np.random.default_rng(random_state).spawn(len(GROUPS) + 1)[-1]


def run_group(
    name: str,
    prep: PreparedData,
    limits: EvaluationLimits,
    thresholds: PrivacyThresholds,
    rng: np.random.Generator,
    *,
    refit: Callable[[pd.DataFrame, int], pd.DataFrame] | None = None,
    originals: dict[str, pd.DataFrame] | None = None,
) -> GroupResult:
    """Run the group ``name`` (one of :data:`GROUPS`) on its stream ``rng``."""
    found = GroupResult(name)
    t0 = time.perf_counter()
    # One OpenMP thread (the n_jobs=1 of HistGradientBoosting): its busy-waiting worker threads
    # slow small fits down by orders of magnitude when the cores are shared with other work.
    with threadpool_limits(limits=1, user_api="openmp"):
        if name == "fidelity":
            found.metrics = fidelity_metrics(prep, limits, rng, detection=False)
        elif name == "detection":
            found.metrics = [detection_metric(prep, limits, rng)]
        elif name == "utility":
            found.metrics = utility_metrics(prep, limits, rng)
        elif name == "privacy":
            found.metrics, dcr = privacy_metrics(prep, limits, thresholds, rng, attacks=False)
            if dcr:
                found.artifacts["dcr"] = dcr
        elif name == "attacks":
            if prep.has_holdout:  # without one, privacy_metrics lists the attacks as skipped
                found.metrics, found.attacks = attack_group(
                    prep, limits, thresholds, rng, refit=refit, originals=originals
                )
        elif name == "plots":
            found.artifacts = _plots(prep, limits, rng)
        else:
            raise ValueError(f"unknown metric group {name!r}; expected one of {GROUPS}")
    found.seconds = round(time.perf_counter() - t0, 3)
    return found


def _plots(prep: PreparedData, limits: EvaluationLimits, rng: np.random.Generator) -> dict:
    shown = prep.columns[:MAX_PLOT_COLUMNS]
    diff = np.abs(
        association_matrix(prep, "real", shown) - association_matrix(prep, "synthetic", shown)
    )
    return {
        "distributions": binned_distributions(prep, shown, rng, limits),
        "columns_shown": len(shown),
        "columns_total": len(prep.columns),
        "association": {"columns": shown, "difference": diff},
    }


def assemble(
    results: dict[str, GroupResult],
) -> tuple[list[MetricResult], dict[str, Any], dict[str, Any] | None]:
    """The report's metrics (fidelity, utility, privacy, in the report's order), artifacts
    and attack table from the results of every group."""
    fidelity = list(results["fidelity"].metrics)
    # detection_auc sits after the coverage metrics, before alpha-precision
    at = next((i + 1 for i, m in enumerate(fidelity) if m.name == "range_coverage"), len(fidelity))
    fidelity[at:at] = results["detection"].metrics
    privacy = results["privacy"].metrics
    if results["attacks"].metrics:
        privacy = merge_attacks(privacy, results["attacks"].metrics)
    artifacts = {**results["privacy"].artifacts, **results["plots"].artifacts}
    metrics = [*fidelity, *results["utility"].metrics, *privacy]
    return metrics, artifacts, results["attacks"].attacks
