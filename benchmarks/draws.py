"""Sampling timed over several draws of one fitted model (``--sample-repeats``), and the
train-on-synthetic scores of several draws (``--score-draws``)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd

__all__ = ["draw_utility", "kept_draws", "repeats_arg", "timed_draws"]

T = TypeVar("T")


def timed_draws(draw: Callable[[], T], repeats: int) -> tuple[T, list[float]]:
    """Call ``draw`` ``repeats`` times; its first result and every call's seconds.

    Examples
    --------
    >>> first, runs = timed_draws(lambda: 7, 3)
    >>> first, len(runs)
    (7, 3)
    """
    kept, runs = kept_draws(draw, repeats, 1)
    return kept[0], runs


def kept_draws(draw: Callable[[], T], repeats: int, keep: int) -> tuple[list[T], list[float]]:
    """Call ``draw`` ``max(repeats, keep)`` times; the first ``keep`` results and every
    call's seconds (``--score-draws``: the utility of several draws of one model).

    Examples
    --------
    >>> calls = iter(range(10))
    >>> kept, runs = kept_draws(lambda: next(calls), 2, 3)
    >>> kept, len(runs)
    ([0, 1, 2], 3)
    """
    if repeats < 1 or keep < 1:
        raise ValueError(f"repeats and keep must be at least 1, got {repeats} and {keep}")
    kept: list[T] = []
    runs: list[float] = []
    for _ in range(max(repeats, keep)):
        t0 = time.perf_counter()
        rows = draw()
        runs.append(time.perf_counter() - t0)
        if len(kept) < keep:
            kept.append(rows)
    return kept, runs


def repeats_arg(text: str) -> int:
    """``--sample-repeats``: a whole number of at least one (argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def draw_utility(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    draws: Sequence[pd.DataFrame],
    target: str,
    schema: Any,
    seed: int,
) -> dict[str, Any]:
    """Train-on-synthetic scores of several draws of one fitted model (``--score-draws``).

    Each draw is scored as :func:`synthgen.evaluate` scores its utility with ``random_state=
    seed`` (the same row cap, the same classifier stream), so the first draw's figure is the
    evaluation's own. Returns, per TSTR score (``tstr_roc_auc``, ...), ``<name>_draws``
    (every draw's, in order) and ``<name>_mean``: one draw's TSTR moves from draw to draw
    by about as much as engines differ on it (docs/benchmarks.md).
    """
    from synthgen.evaluation.data import prepare
    from synthgen.evaluation.groups import group_streams, rows_stream, run_group
    from synthgen.evaluation.rowcap import cap_rows
    from synthgen.evaluation.thresholds import EvaluationLimits, PrivacyThresholds

    limits, thresholds = EvaluationLimits(), PrivacyThresholds()
    scores: dict[str, list[float | None]] = {}
    for synthetic in draws:
        inputs = {"real": train, "synthetic": synthetic, "holdout": holdout}
        frames = cap_rows(inputs, limits.max_rows, rows_stream(seed)).frames
        prep = prepare(
            frames["real"], frames["synthetic"], frames["holdout"], target=target, schema=schema
        )
        # the evaluation's own group runner (its stream, one OpenMP thread for the classifier)
        found = run_group("utility", prep, limits, thresholds, group_streams(seed)["utility"])
        for metric in found.metrics:
            if metric.name.startswith("tstr_"):
                scores.setdefault(metric.name, []).append(metric.value)
    out: dict[str, Any] = {}
    for name, values in scores.items():
        out[f"{name}_draws"] = values
        known = [v for v in values if v is not None]
        out[f"{name}_mean"] = float(np.mean(known)) if len(known) == len(values) else None
    return out
