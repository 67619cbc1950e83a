"""Differential privacy for generators: parameters declared once, the private fit's bookkeeping.

:class:`PrivateFitMixin` gives a generator the ``epsilon`` path of ``_prepare`` (a private
schema and surrogate rows from :func:`~synthgen.privacy.dp.fitting.private_prepare`), keeps
what it releases on the estimator (``preprocessor_``, ``ledger_``) and saves and restores the
privacy record (``privacy_``, ``epsilon_``, ``delta_``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthgen.generators.params import Integer, Real
from synthgen.privacy.dp.fitting import DPSettings, PrivatePreparation, private_prepare
from synthgen.schema import Schema

__all__ = ["DP_PARAMS", "DP_SGD_PARAMS", "PrivateFitMixin"]

#: name -> (default, constraints, description) of the parameters every DP generator takes.
DP_PARAMS: dict[str, tuple[Any, list[Any], str]] = {
    "epsilon": (
        None,
        [Real(0, open_low=True), None],
        "Fit with (``epsilon``, ``delta``)-differential privacy; ``None``: no DP.",
    ),
    "delta": (1e-5, [Real(0, 1, open_low=True, open_high=True)], "Differential-privacy delta."),
    "preprocess_share": (
        0.1,
        [Real(0, 1, open_low=True, open_high=True)],
        "Share of the budget for private bounds, label lists and encoder statistics.",
    ),
    "min_category_count": (
        10,
        [Integer(1)],
        "With ``epsilon``: labels held by fewer rows are never released.",
    ),
}
#: The DP-SGD parameters of the neural generators, on top of :data:`DP_PARAMS`.
DP_SGD_PARAMS: dict[str, tuple[Any, list[Any], str]] = {
    **DP_PARAMS,
    "max_grad_norm": (
        1.0,
        [Real(0, open_low=True)],
        "Per-row gradient clipping norm of DP-SGD (replaces ``grad_clip``).",
    ),
    "noise_multiplier": (
        None,
        [Real(0, open_low=True), None],
        "DP-SGD noise as a multiple of ``max_grad_norm``; ``None`` calibrates it so that "
        "``epochs`` epochs spend the budget.",
    ),
}


class PrivateFitMixin:
    """The ``epsilon`` path of a generator's fit (put it before the base class)."""

    epsilon: float | None

    @property
    def dp_settings(self) -> DPSettings | None:
        """This generator's DP settings in one object (``None`` without ``epsilon``)."""
        return None if self.epsilon is None else DPSettings.of(self)

    def _prepare(
        self, data: pd.DataFrame, schema: Schema, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, Schema, pd.DataFrame, int]:
        settings = self.dp_settings
        if settings is None:
            return super()._prepare(data, schema, rng)  # type: ignore[misc]
        prep = private_prepare(settings, data, schema, rng, self._preprocess_options())
        self.preprocessor_ = prep.preprocessor
        self.ledger_ = prep.ledger
        self._preparation: PrivatePreparation | None = prep
        return prep.data, prep.schema, prep.surrogate, prep.n_rows

    def _preprocess_options(self) -> dict[str, Any]:
        """Further parameters of the private preprocessing (a generator may tune them)."""
        return {}

    def _take_preparation(self) -> PrivatePreparation:
        """What ``_prepare`` released (handed over once, then dropped from the estimator)."""
        prep = self._preparation
        self._preparation = None
        assert prep is not None
        return prep

    def _set_privacy(self, record: dict[str, Any]) -> None:
        self.privacy_ = dict(record)
        self.epsilon_ = float(self.privacy_["epsilon"])
        self.delta_ = float(self.privacy_["delta"])
