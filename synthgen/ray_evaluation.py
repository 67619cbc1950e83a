"""Evaluation on Ray workers for big tables (the optional extra ``synthgen[ray]``).

:func:`evaluate_ray` takes the arguments of :func:`synthgen.evaluate` and returns the same
:class:`~synthgen.evaluation.Report`, with the same figures for the same ``random_state``: the
metric groups (:data:`~synthgen.evaluation.groups.GROUPS`: fidelity, detection, utility,
privacy diagnostics and risks, the membership attacks, the plots) each draw from a stream of
their own, so they run as independent Ray tasks, at once. The checked frames travel once
through Ray's object store; a task reserves ``cpus_per_task`` CPUs. The shadow-model attack's
``refit`` holds a fitted model, which is never pickled: with ``refit`` the attack group runs in
this process while the other groups run on the workers.

On a cluster, start Ray (``ray start --head``; ``ray start --address HEAD:6379`` on the other
nodes) and set ``RAY_ADDRESS=HEAD:6379``, or call ``ray.init(address=...)`` first; every node
needs synthgen installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from synthgen.evaluation.data import PreparedData
from synthgen.evaluation.groups import GROUPS, GroupResult, run_group
from synthgen.evaluation.report import Report
from synthgen.evaluation.runner import evaluate
from synthgen.evaluation.thresholds import EvaluationLimits, PrivacyThresholds
from synthgen.exceptions import ConfigurationError

__all__ = ["evaluate_ray"]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigurationError(
            "evaluating on Ray needs the optional dependency ray: pip install 'synthgen[ray]'"
        ) from None
    return ray


def evaluate_ray(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    *,
    cpus_per_task: int = 1,
    **options: Any,
) -> Report:
    """:func:`synthgen.evaluate` with its metric groups as Ray tasks (``ray.init()`` is
    called if Ray is not running: a local Ray, or the cluster of ``RAY_ADDRESS``).

    Parameters
    ----------
    real, synthetic, holdout :
        As for :func:`synthgen.evaluate`.
    cpus_per_task : int
        CPUs each group's task reserves (the groups' models use one thread; more CPUs
        leave room for other work).
    **options :
        Any other argument of :func:`synthgen.evaluate` (``target``, ``schema``,
        ``random_state``, ``limits``, ``refit``, ...).

    Returns
    -------
    Report
        The report :func:`synthgen.evaluate` gives for the same arguments (the timings aside).
    """
    ray = _ray()
    if isinstance(cpus_per_task, bool) or not isinstance(cpus_per_task, int) or cpus_per_task < 1:
        raise ConfigurationError(f"cpus_per_task must be a positive integer, got {cpus_per_task!r}")
    if "_run_groups" in options:
        raise ConfigurationError("evaluate_ray runs the groups itself: drop _run_groups")

    def on_ray(prep, streams, limits, thresholds, refit, originals, verbose):
        if not ray.is_initialized():
            ray.init()
        return _run_on_ray(ray, cpus_per_task, prep, streams, limits, thresholds, refit, originals)

    return evaluate(real, synthetic, holdout, _run_groups=on_ray, **options)


def _remote_group(
    name: str,
    prep: PreparedData,
    limits: EvaluationLimits,
    thresholds: PrivacyThresholds,
    rng: np.random.Generator,
    originals: dict[str, pd.DataFrame] | None,
) -> GroupResult:
    return run_group(name, prep, limits, thresholds, rng, originals=originals)


def _run_on_ray(
    ray: Any,
    cpus: int,
    prep: PreparedData,
    streams: dict[str, np.random.Generator],
    limits: EvaluationLimits,
    thresholds: PrivacyThresholds,
    refit: Callable[[pd.DataFrame, int], pd.DataFrame] | None,
    originals: dict[str, pd.DataFrame] | None,
) -> dict[str, GroupResult]:
    task = ray.remote(num_cpus=cpus, max_retries=0)(_remote_group)
    # The frames go once into the object store; every task reads them from there.
    prep_ref = ray.put(prep)
    originals_ref = ray.put(originals)
    here = {"attacks"} if refit is not None else set()  # refit holds a model: never pickled
    refs = {
        name: task.remote(name, prep_ref, limits, thresholds, streams[name], originals_ref)
        for name in GROUPS
        if name not in here
    }
    results = {
        name: run_group(
            name, prep, limits, thresholds, streams[name], refit=refit, originals=originals
        )
        for name in here
    }
    names = list(refs)
    for name, found in zip(names, ray.get([refs[n] for n in names]), strict=True):
        results[name] = found
    return {name: results[name] for name in GROUPS}
