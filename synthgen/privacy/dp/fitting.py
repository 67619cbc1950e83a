"""Shared pieces of every differentially private generator: budget split, private schema.

A DP generator calls :func:`private_prepare` from its ``_prepare`` hook. It validates
``epsilon`` and ``delta``, reserves a tenth of ``delta`` for label discovery, converts the rest
of the budget into a zCDP ``rho``, spends ``preprocess_share`` of it on
:class:`~synthgen.privacy.dp.preprocess.DPPreprocessor` and leaves a
:class:`~synthgen.privacy.dp.accounting.PrivacyLedger` on the model for the training steps that
follow. The generator then trains on the preprocessed rows with the released schema, and fits
its encoder on surrogate rows drawn from the released marginals, never on the real ones.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConfigurationError
from synthgen.privacy.dp.accounting import PrivacyLedger, check_budget, rho_for_epsilon
from synthgen.privacy.dp.preprocess import DPPreprocessor
from synthgen.schema import Schema

__all__ = [
    "DELTA_THRESHOLD_SHARE",
    "check_dp_params",
    "check_dp_sgd_params",
    "dp_sgd_driver",
    "privacy_summary",
    "private_prepare",
    "record_dp_sgd",
]

#: Share of delta reserved for thresholded label discovery.
DELTA_THRESHOLD_SHARE = 0.1


def check_dp_params(model: Any) -> None:
    """Validate ``epsilon``, ``delta``, ``preprocess_share`` and ``min_category_count``."""
    check_budget(model.epsilon, model.delta)
    share = model.preprocess_share
    if isinstance(share, bool) or not isinstance(share, numbers.Real) or not 0 < share < 1:
        raise ConfigurationError(f"preprocess_share must lie strictly in (0, 1), got {share!r}")
    k = model.min_category_count
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ConfigurationError(f"min_category_count must be an integer >= 1, got {k!r}")


def check_dp_sgd_params(model: Any) -> None:
    """:func:`check_dp_params` plus the DP-SGD settings of a neural generator."""
    from synthgen.training.trainer import _check_positive

    check_dp_params(model)
    _check_positive("max_grad_norm", model.max_grad_norm)
    _check_positive("noise_multiplier", model.noise_multiplier, allow_none=True)
    if model.grad_clip is not None:
        raise ConfigurationError(
            "grad_clip must be None with epsilon: DP-SGD clips each row's gradient "
            "to max_grad_norm instead"
        )


def private_prepare(
    model: Any, data: pd.DataFrame, schema: Schema, rng: np.random.Generator
) -> tuple[pd.DataFrame, Schema, pd.DataFrame, int, float]:
    """Release a private schema of ``data`` and map the data onto it.

    Sets ``model.preprocessor_`` and ``model.ledger_``. Returns the mapped rows, the released
    schema, surrogate rows to fit encoders on, the noisy row count and the zCDP ``rho`` left
    for training.
    """
    epsilon, delta = check_budget(model.epsilon, model.delta)
    delta_thr = delta * DELTA_THRESHOLD_SHARE
    rho = rho_for_epsilon(epsilon, delta - delta_thr)
    rho_pre = rho * float(model.preprocess_share)
    pre = DPPreprocessor(
        rho=rho_pre,
        delta_threshold=delta_thr,
        min_category_count=int(model.min_category_count),
    ).fit(data, schema, rng)
    ledger = PrivacyLedger(delta=delta, delta_threshold=delta_thr)
    ledger.add_zcdp("preprocessing", rho_pre)
    model.preprocessor_ = pre
    model.ledger_ = ledger
    surrogate = pre.surrogate(max(500, min(pre.n_rows_, 20_000)), rng)
    return pre.apply(data), pre.schema_, surrogate, pre.n_rows_, rho - rho_pre


def privacy_summary(model: Any) -> dict[str, Any]:
    """What a fitted DP model spent (stored in its saved manifest and shown in reports)."""
    out = model.ledger_.spent()
    out["target_epsilon"] = float(model.epsilon)
    out["preprocess_share"] = float(model.preprocess_share)
    out["min_category_count"] = int(model.min_category_count)
    return out


def dp_sgd_driver(model: Any, module: Any, optimizer: Any, row_loss: Any, trainer: Any) -> Any:
    """The :class:`~synthgen.privacy.dp.sgd.DPSGD` of a DP neural generator's ``module``.

    Reads ``epsilon``, ``epochs``, ``noise_multiplier`` (``None``: calibrated so that
    ``epochs`` epochs of Poisson batches at the trainer's ``sample_rate`` spend the budget),
    ``max_grad_norm``, ``n_train_rows_`` and ``ledger_`` from ``model``.
    """
    from synthgen.privacy.dp.sgd import DPSGD, noise_multiplier_for

    q = trainer.sample_rate
    sigma = model.noise_multiplier
    if sigma is None:
        steps = model.epochs * max(1, round(1.0 / q))
        sigma = noise_multiplier_for(model.epsilon, model.ledger_, q, steps)
    return DPSGD(
        module,
        optimizer,
        row_loss,
        noise_multiplier=sigma,
        max_grad_norm=model.max_grad_norm,
        sample_rate=q,
        n_rows=model.n_train_rows_,
        epsilon=model.epsilon,
        ledger=model.ledger_,
        generator=trainer.generator_,
    )


def record_dp_sgd(model: Any, dp: Any, trainer: Any, **extra: Any) -> None:
    """Close ``dp``'s accounting and set ``model.privacy_``, ``epsilon_`` and ``delta_``."""
    dp.finish()
    model.privacy_ = privacy_summary(model)
    model.privacy_["dp_sgd"] = {
        **extra,
        "noise_multiplier": dp.noise_multiplier,
        "sample_rate": dp.sample_rate,
        "steps": dp.steps,
        "max_grad_norm": float(model.max_grad_norm),
        "stop_reason": trainer.stop_reason_,
    }
    model.epsilon_ = float(model.privacy_["epsilon"])
    model.delta_ = float(model.privacy_["delta"])
