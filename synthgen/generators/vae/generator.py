"""A tabular variational autoencoder (TVAE-class, Xu et al. 2019).

Numbers go through mode-specific normalisation (a scalar in a Gaussian-mixture mode plus the
mode's one-hot), categories and missing flags through one-hot blocks, all from the shared
encoder. The decoder outputs a mean per continuous span with a *learned* per-span standard
deviation, and logits per categorical span; the reconstruction loss is built generically from
the span list (:class:`~synthgen.generators.nn.SpanLayout`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from synthgen.exceptions import ConfigurationError
from synthgen.generators.ar_head import DecodeStep, span_ranks
from synthgen.generators.compact import CompactPlan
from synthgen.generators.neural import NeuralGenerator
from synthgen.generators.nn import (
    SpanLayout,
    build_module,
    load_module,
    module_arrays,
    sample_in_chunks,
)
from synthgen.generators.params import Boolean, Integer, IntTuple, Options, Real
from synthgen.generators.private import PrivateFitMixin
from synthgen.generators.tags import GeneratorTags
from synthgen.generators.vae.network import VAENet, VAETask
from synthgen.generators.vae.prior import LatentMixture, fit_latent_mixture
from synthgen.training.disk_rows import as_rows
from synthgen.utils import torch_generator

__all__ = ["AUTOREGRESSIVE_MAX_COLUMNS", "TabularVAE", "uses_autoregressive_head"]

#: ``autoregressive="auto"`` gives the decoder its autoregressive head up to this many
#: modelled columns. Measured (one seed each, defaults otherwise): 56 real columns, the head
#: better on shapes, trends and detection; 112 and 200 columns, the factorised decoder better
#: on all three (late columns of the head's samples collapsed).
AUTOREGRESSIVE_MAX_COLUMNS = 64


def uses_autoregressive_head(setting: bool | str, n_columns: int) -> bool:
    """Whether a VAE with ``autoregressive=setting`` has the head on ``n_columns`` modelled
    columns.

    Examples
    --------
    >>> uses_autoregressive_head("auto", 24), uses_autoregressive_head("auto", 65)
    (True, False)
    >>> uses_autoregressive_head(True, 500), uses_autoregressive_head(False, 3)
    (True, False)
    """
    if setting == "auto":
        return n_columns <= AUTOREGRESSIVE_MAX_COLUMNS
    return bool(setting)


class TabularVAE(PrivateFitMixin, NeuralGenerator):
    """Variational autoencoder for mixed tables (TVAE-class).

    Parameters
    ----------
    latent_dim : int
        Width of the latent code.
    hidden : tuple of int
        Widths of the encoder's hidden layers (the decoder mirrors them).
    l2 : float
        Weight decay.
    loss_factor : float
        Weight of the reconstruction term against the KL term (TVAE uses 2).
    kl_anneal_epochs : int
        Epochs over which the KL weight ramps up from near 0 to 1 (0: no annealing).
    value_noise : float
        Multiple of the learned standard deviation added to continuous outputs when sampling
        (1: TVAE's behaviour; 0: the decoded mean, which keeps column shapes closer on Adult
        because the mixture mode already carries the spread).
    autoregressive : bool or "auto"
        Let the decoder's output for each column also depend on the columns before it (a
        masked linear map of their values, learned with the true values during training and
        fed the sampled ones, column by column, when sampling). A factorised decoder (``False``,
        TVAE's) draws every column independently given the latent code, which loses exact
        relations such as Adult's education and education-num; the autoregressive head keeps
        them at the cost of one small matrix product per column when sampling. ``"auto"``
        (the default) uses the head on tables of at most :data:`AUTOREGRESSIVE_MAX_COLUMNS`
        modelled columns: on wider ones the sampled columns drift from the true ones the head
        was trained on, late columns collapse onto a few values, and the factorised decoder
        scored better on every measure (docs/neural.md).
    prior : {"mixture", "standard"}
        Where sampled latent codes come from. ``"standard"`` draws from the training prior
        N(0, I), as TVAE does; the decoder then also sees codes from the "holes" between the
        regions the encoder actually uses, which blurs pairwise structure. ``"mixture"``
        fits a Gaussian mixture to latent codes of the training rows after training and
        draws from it (ex-post density estimation, Ghosh et al. 2020). With ``epsilon`` set,
        the standard prior is used (the mixture would read real rows outside the privacy
        accounting).
    prior_components : int
        Components of the ``"mixture"`` prior.
    validation_fraction : float
        Rows held out for early stopping (0: train on everything, no early stopping).
    patience : int, optional
        Epochs without improvement before stopping (needs ``validation_fraction > 0``).

    Attributes
    ----------
    history_ : list of dict
        Per-epoch losses (``loss``, ``reconstruction``, ``kl``, ``val_loss``, ``time``);
        with ``epsilon`` only ``epoch`` and ``time`` (losses of real rows are not released).
    epsilon_, delta_ : float
        With ``epsilon``: the privacy the accountant says was spent.

    Examples
    --------
    >>> import synthgen as sg
    >>> df = sg.datasets.load_adult().head(200)
    >>> model = TabularVAE(epochs=1, random_state=0).fit(df)
    >>> model.sample(5, random_state=1).shape
    (5, 15)
    """

    key = "vae"
    tags = GeneratorTags(differential_privacy=True, neural=True)
    encoder_params: ClassVar[dict[str, Any]] = {"numeric": "gmm", "discrete": "onehot"}
    training_defaults: ClassVar[dict[str, Any]] = {"epochs": 80, "batch_size": 1000}
    _head_weight = "net.ar.weight"
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "latent_dim": [Integer(1)],
        "hidden": [IntTuple()],
        "l2": [Real(0)],
        "loss_factor": [Real(0)],
        "kl_anneal_epochs": [Integer(0)],
        "value_noise": [Real(0)],
        "autoregressive": [Boolean(), Options("auto")],
        "prior": [Options("mixture", "standard")],
        "prior_components": [Integer(1)],
        "validation_fraction": [Real(0, 1, open_high=True)],
        "patience": [Integer(1), None],
    }

    def __init__(
        self,
        *,
        latent_dim: int = 128,
        hidden: tuple[int, ...] = (256, 256),
        l2: float = 1e-5,
        loss_factor: float = 2.0,
        kl_anneal_epochs: int = 20,
        value_noise: float = 0.0,
        autoregressive: bool | str = "auto",
        prior: str = "mixture",
        prior_components: int = 10,
        validation_fraction: float = 0.0,
        patience: int | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.l2 = l2
        self.loss_factor = loss_factor
        self.kl_anneal_epochs = kl_anneal_epochs
        self.value_noise = value_noise
        self.autoregressive = autoregressive
        self.prior = prior
        self.prior_components = prior_components
        self.validation_fraction = validation_fraction
        self.patience = patience

    @classmethod
    def _fast_params(cls) -> dict[str, Any]:
        return {**super()._fast_params(), "latent_dim": 8, "hidden": (16,)}

    def _check_params(self) -> None:
        super()._check_params()
        if self.epsilon is not None and self.validation_fraction:
            raise ConfigurationError(
                "validation_fraction must be 0 with epsilon: early stopping on real rows "
                "would spend privacy outside the accountant"
            )

    def _factory(self):
        """The network's constructor; the head follows ``autoregressive`` and the encoder's
        columns (the same on a loaded model: the saved encoder decides ``"auto"`` again)."""
        dims = (self.encoder_.output_dim, self.latent_dim, tuple(self.hidden))
        spans = self.encoder_.spans
        n_cont = SpanLayout(spans).n_continuous
        n_columns = len(dict.fromkeys(s.column for s in spans))
        head = uses_autoregressive_head(self.autoregressive, n_columns)
        ranks = span_ranks(spans) if head else None
        return lambda: VAENet(*dims, n_cont, ranks)

    def _train(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        trainer = self.make_trainer(rng, **self._private_training(self.batch_size))
        device = trainer.device_
        layout = SpanLayout(self.encoder_.spans, device)
        net = build_module(self._factory(), device, trainer.generator_)
        task = VAETask(
            net, layout, self.learning_rate, self.l2, self.loss_factor, self.kl_anneal_epochs
        )
        plan = CompactPlan.of(self.encoder_)
        trainer.fit(task, as_rows(matrix), expand=plan.expand)
        self._record_privacy(trainer)
        self._record_training(trainer)
        self.net_ = net.eval()
        self.layout_ = layout
        self.prior_ = None
        if self.prior == "mixture" and self.epsilon is None:
            # Under differential privacy the standard prior stays: a mixture fitted to the
            # latent codes of real rows would read them outside the accountant.
            self.prior_ = fit_latent_mixture(
                net, matrix, self.prior_components, device, trainer.generator_, rng, plan.expand
            )

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        net = self.net_
        gen = torch_generator(rng, self.device_)
        net.eval()
        spans = self.layout_.spans
        whole = DecodeStep(spans, list(range(len(spans))), self.device_)
        steps = net.ar.steps(spans, self.device_) if net.ar is not None else []
        sigma = net.sigma() * self.value_noise if self.value_noise else None

        def draw_step(step: DecodeStep, logits: torch.Tensor) -> torch.Tensor:
            lay = step.layout
            # Draw each category from the decoder's distribution, not its argmax, so rare
            # categories keep their share.
            out = lay.activate(logits, generator=gen, tau=1.0, hard=True)
            if lay.n_continuous and sigma is not None:
                shape = (len(logits), lay.n_continuous)
                noise = torch.randn(shape, generator=gen, device=out.device)
                value = torch.tanh(logits[:, lay.cont_idx]) + noise * sigma[step.sigma_idx]
                out[:, lay.cont_idx] = value.clamp(-1.0, 1.0)
            return out

        def draw(size: int) -> torch.Tensor:
            z = torch.randn((size, self.latent_dim), generator=gen, device=self.device_)
            if self.prior_ is not None:
                z = self.prior_.transform(z, gen)
            raw = net.decode(z).float()
            if net.ar is None:
                return draw_step(whole, raw)
            return net.ar.decode(raw, steps, draw_step)[1]

        return sample_in_chunks(n_samples, 20_000, draw)

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = module_arrays(self.net_, "net")
        if self.prior_ is not None:
            arrays.update(self.prior_.arrays("prior"))
        return self._training_meta(), arrays

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._restore_training_meta(meta)
        self.layout_ = SpanLayout(self.encoder_.spans, self.device_)
        self.net_ = load_module(self._factory(), arrays, "net", self.device_)
        self.prior_ = LatentMixture.from_arrays(arrays, "prior", self.device_)
