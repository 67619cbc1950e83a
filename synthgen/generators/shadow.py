"""Refit functions for the shadow-model membership attack.

The evaluation never imports a generator; the shadow attack
(:class:`~synthgen.evaluation.attacks.ShadowAttack`) takes a ``refit(table, n_rows)`` callable
instead, and this module makes one from a generator: a fresh copy with the same settings, fitted
on ``table``, returning ``n_rows`` rows. Each call draws its seed from one seeded stream, so a
sequence of refits repeats exactly.

Refitting the cheap families (copula, marginals, dp_marginals, the copy canary) costs seconds.
A neural family is refitted on a small budget (``neural_epochs`` passes): the shadows are then
less trained than the model under attack, which makes this attack weaker than it could be for
them, so :func:`cheap_to_refit` tells callers which models to attack this way by default.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from synthgen.exceptions import ConfigurationError
from synthgen.generators.base import BaseGenerator

__all__ = ["ShadowRefit", "cheap_to_refit", "shadow_refit"]


def cheap_to_refit(model: BaseGenerator) -> bool:
    """Whether a refit costs about as much as sampling (every family that is not neural).

    Examples
    --------
    >>> import synthgen as sg
    >>> cheap_to_refit(sg.make_generator("copula")), cheap_to_refit(sg.make_generator("vae"))
    (True, False)
    """
    return not model.tags.neural


class ShadowRefit:
    """``refit(table, n_rows) -> DataFrame``: a fresh copy of ``template`` fitted on ``table``.

    Attributes
    ----------
    template : BaseGenerator
        The unfitted generator every refit copies (the model's settings, with the overrides).
    """

    def __init__(self, template: BaseGenerator, random_state: int | None) -> None:
        self.template = template
        self._seeds = np.random.default_rng(random_state)

    def __call__(self, table: pd.DataFrame, n_rows: int) -> pd.DataFrame:
        seed = int(self._seeds.integers(2**31))
        shadow = clone(self.template).set_params(random_state=seed)
        return shadow.fit(table).sample(n_rows, random_state=seed + 1)


def shadow_refit(
    model: BaseGenerator,
    *,
    neural_epochs: int = 5,
    random_state: int | None = 0,
) -> ShadowRefit:
    """A ``refit(table, n_rows) -> DataFrame`` function for the generator ``model``.

    Parameters
    ----------
    model : BaseGenerator
        The generator under attack (fitted or not: only its settings are used).
    neural_epochs : int
        Training passes of each refit of a neural generator (its other settings are kept;
        one torch thread, no progress bars).
    random_state : int, optional
        Seed of the stream the refits draw their seeds from.

    Examples
    --------
    >>> import synthgen as sg
    >>> df = sg.datasets.load_adult().head(200)
    >>> refit = shadow_refit(sg.make_generator("copula", random_state=0))
    >>> refit(df, 50).shape
    (50, 15)
    """
    if not isinstance(model, BaseGenerator):
        raise ConfigurationError(
            f"shadow_refit needs a synthgen generator, got {type(model).__name__}"
        )
    if isinstance(neural_epochs, bool) or not isinstance(neural_epochs, int) or neural_epochs < 1:
        raise ConfigurationError(f"neural_epochs must be a positive integer, got {neural_epochs!r}")
    template = clone(model)
    overrides: dict[str, object] = {"verbose": False}
    if model.tags.neural:
        overrides.update(epochs=neural_epochs, n_threads=1)
    names = template.get_params(deep=False)
    template.set_params(**{k: v for k, v in overrides.items() if k in names})
    return ShadowRefit(template, random_state)
