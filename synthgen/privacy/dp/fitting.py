"""Shared pieces of every differentially private generator: settings, budget split, private schema.

The DP settings of a generator travel as one :class:`DPSettings`. A DP generator calls
:func:`private_prepare` from its ``_prepare`` hook: it reserves a tenth of ``delta`` for label
discovery, converts the rest of the budget into a zCDP ``rho``, spends ``preprocess_share`` of
it on :class:`~synthgen.privacy.dp.preprocess.DPPreprocessor` and returns a
:class:`PrivatePreparation` holding the released schema, the mapped rows, surrogate rows to
fit encoders on, and the :class:`~synthgen.privacy.dp.accounting.PrivacyLedger` for the
training that follows. Nothing here sets attributes on a generator: the generator keeps what
it is handed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthgen.privacy.dp.accounting import PrivacyLedger, check_budget, rho_for_epsilon
from synthgen.privacy.dp.preprocess import DPPreprocessor
from synthgen.schema import Schema

__all__ = [
    "DELTA_THRESHOLD_SHARE",
    "DPSettings",
    "PrivatePreparation",
    "privacy_summary",
    "private_prepare",
]

#: Share of delta reserved for thresholded label discovery.
DELTA_THRESHOLD_SHARE = 0.1


@dataclass(frozen=True)
class DPSettings:
    """The differential-privacy parameters of one fit.

    Examples
    --------
    >>> DPSettings(epsilon=3.0).delta
    1e-05
    """

    epsilon: float
    delta: float = 1e-5
    preprocess_share: float = 0.1
    min_category_count: int = 10
    max_grad_norm: float = 1.0
    noise_multiplier: float | None = None

    @classmethod
    def of(cls, model: Any) -> DPSettings:
        """The settings of a generator's parameters (those it lacks keep the defaults)."""
        names = cls.__dataclass_fields__
        return cls(**{n: getattr(model, n) for n in names if hasattr(model, n)})


@dataclass
class PrivatePreparation:
    """What :func:`private_prepare` released and left for training."""

    data: pd.DataFrame
    schema: Schema
    surrogate: pd.DataFrame
    n_rows: int
    rho_left: float
    preprocessor: DPPreprocessor
    ledger: PrivacyLedger


def private_prepare(
    settings: DPSettings,
    data: pd.DataFrame,
    schema: Schema,
    rng: np.random.Generator,
    options: dict[str, Any] | None = None,
) -> PrivatePreparation:
    """Release a private schema of ``data`` and map the data onto it (``options``: further
    :class:`~synthgen.privacy.dp.preprocess.DPPreprocessor` parameters)."""
    epsilon, delta = check_budget(settings.epsilon, settings.delta)
    delta_thr = delta * DELTA_THRESHOLD_SHARE
    rho = rho_for_epsilon(epsilon, delta - delta_thr)
    rho_pre = rho * float(settings.preprocess_share)
    pre = DPPreprocessor(
        rho=rho_pre,
        delta_threshold=delta_thr,
        min_category_count=int(settings.min_category_count),
        **(options or {}),
    ).fit(data, schema, rng)
    ledger = PrivacyLedger(delta=delta, delta_threshold=delta_thr)
    ledger.add_zcdp("preprocessing", rho_pre)
    surrogate = pre.surrogate(max(500, min(pre.n_rows_, 20_000)), rng)
    return PrivatePreparation(
        pre.apply(data), pre.schema_, surrogate, pre.n_rows_, rho - rho_pre, pre, ledger
    )


def privacy_summary(settings: DPSettings, ledger: PrivacyLedger) -> dict[str, Any]:
    """What a fitted DP model spent (stored in its saved manifest and shown in reports)."""
    out = ledger.spent()
    out["target_epsilon"] = float(settings.epsilon)
    out["preprocess_share"] = float(settings.preprocess_share)
    out["min_category_count"] = int(settings.min_category_count)
    return out
