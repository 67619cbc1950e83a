"""A tabular variational autoencoder (TVAE-class, Xu et al. 2019).

Numbers go through mode-specific normalisation (a scalar in a Gaussian-mixture mode plus the
mode's one-hot), categories and missing flags through one-hot blocks, all from the shared
encoder. The decoder outputs a mean per continuous span with a *learned* per-span standard
deviation, and logits per categorical span; the reconstruction loss is built generically from
the span list (:class:`~synthgen.generators.nn.SpanLayout`).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from synthgen.exceptions import ConfigurationError
from synthgen.generators.ar_head import AutoregressiveHead, DecodeStep, span_ranks
from synthgen.generators.base import BaseGenerator
from synthgen.generators.nn import (
    SpanLayout,
    build_module,
    check_training_params,
    load_module,
    module_arrays,
    resolve_saved_device,
    sample_in_chunks,
)
from synthgen.generators.registry import register
from synthgen.training import Trainer, trainer_for
from synthgen.utils import torch_generator

__all__ = ["LatentMixture", "TabularVAE", "fit_latent_mixture"]

# Rows whose latent codes the mixture prior is fitted on (EM cost grows with them).
_PRIOR_ROWS = 5_000
# Learning-rate multiplier of the autoregressive head's weights.
_AR_LR_FACTOR = 30.0


class LatentMixture:
    """A full-covariance Gaussian mixture over latent codes, sampled with torch generators.

    Parameters
    ----------
    weights : tensor ``(k,)``
        Component probabilities.
    means : tensor ``(k, d)``
        Component means.
    scales : tensor ``(k, d, d)``
        Lower Cholesky factors of the component covariances.

    Examples
    --------
    >>> mix = LatentMixture(torch.tensor([1.0]), torch.ones(1, 2), torch.eye(2)[None] * 0.5)
    >>> gen = torch.Generator().manual_seed(0)
    >>> z = mix.transform(torch.randn(1000, 2, generator=gen), gen)
    >>> [round(v, 1) for v in z.mean(0).tolist()], [round(v, 1) for v in z.std(0).tolist()]
    ([1.0, 1.0], [0.5, 0.5])
    """

    def __init__(self, weights: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> None:
        self.weights, self.means, self.scales = weights, means, scales

    def transform(self, eps: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Map standard normal draws ``eps`` ``(n, d)`` to draws from the mixture."""
        comp = torch.multinomial(self.weights, len(eps), replacement=True, generator=generator)
        out = torch.empty_like(eps)
        for c in range(len(self.weights)):  # per component: no (n, d, d) gather in memory
            rows = torch.nonzero(comp == c).ravel()
            out[rows] = self.means[c] + eps[rows] @ self.scales[c].T
        return out

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Arrays to save under ``prefix``."""
        return {
            f"{prefix}.{name}": getattr(self, name).detach().cpu().numpy()
            for name in ("weights", "means", "scales")
        }

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], prefix: str, device: Any
    ) -> LatentMixture | None:
        """The mixture saved by :meth:`arrays`, or ``None`` when none was saved."""
        if f"{prefix}.weights" not in arrays:
            return None
        return cls(
            *(
                torch.as_tensor(np.asarray(arrays[f"{prefix}.{n}"]), device=device)
                for n in ("weights", "means", "scales")
            )
        )


def fit_latent_mixture(
    net: _VAENet,
    matrix: np.ndarray,
    n_components: int,
    device: Any,
    generator: torch.Generator,
    rng: np.random.Generator,
) -> LatentMixture:
    """Fit a :class:`LatentMixture` to posterior draws ``mu + sigma * eps`` of training rows
    (at most ``_PRIOR_ROWS`` of them, chosen with ``rng``)."""
    from sklearn.mixture import GaussianMixture

    rows = matrix
    if len(rows) > _PRIOR_ROWS:
        rows = matrix[np.sort(rng.choice(len(matrix), _PRIOR_ROWS, replace=False))]
    codes = []
    with torch.no_grad():
        for lo in range(0, len(rows), 8192):
            batch = torch.from_numpy(rows[lo : lo + 8192]).to(device)
            mu, logvar = net.posterior(batch)
            eps = torch.randn(mu.shape, generator=generator, device=mu.device)
            codes.append((mu + eps * torch.exp(0.5 * logvar)).float().cpu().numpy())
    z = np.concatenate(codes).astype(np.float64)
    k = min(n_components, len(z))
    gmm = GaussianMixture(
        k,
        covariance_type="full",
        reg_covar=1e-4,
        max_iter=200,
        random_state=int(rng.integers(2**31 - 1)),
    ).fit(z)
    as_t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)  # noqa: E731
    return LatentMixture(
        as_t(gmm.weights_), as_t(gmm.means_), as_t(np.linalg.cholesky(gmm.covariances_))
    )


def _mlp(dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(dims):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


class _VAENet(nn.Module):
    def __init__(
        self,
        data_dim: int,
        latent_dim: int,
        hidden: tuple[int, ...],
        n_cont: int,
        ranks: list[int] | None = None,
    ):
        super().__init__()
        self.encoder = _mlp([data_dim, *hidden])
        self.mu = nn.Linear(hidden[-1] if hidden else data_dim, latent_dim)
        self.logvar = nn.Linear(hidden[-1] if hidden else data_dim, latent_dim)
        self.decoder = _mlp([latent_dim, *reversed(hidden)])
        self.out = nn.Linear(hidden[0] if hidden else latent_dim, data_dim)
        # One learned log standard deviation per continuous span.
        self.log_sigma = nn.Parameter(torch.empty(n_cont))
        # Autoregressive head: each output block also reads the blocks decoded before it.
        self.ar = AutoregressiveHead(ranks) if ranks is not None else None

    def reset_own_parameters(self) -> None:
        with torch.no_grad():
            self.log_sigma.fill_(math.log(0.1))

    def sigma(self) -> torch.Tensor:
        # Bounded as in TVAE: below 0.01 the likelihood overfits single points.
        return self.log_sigma.exp().clamp(0.01, 1.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.decoder(z))

    def posterior(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and (clamped) log-variance of the latent code of each row."""
        h = self.encoder(batch)
        return self.mu(h), self.logvar(h).clamp(-10, 10)

    def forward(
        self, batch: torch.Tensor, eps: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decoder output, posterior mean and log-variance, and sigma, for noise ``eps``."""
        mu, logvar = self.posterior(batch)
        z = mu + eps * torch.exp(0.5 * logvar)
        raw = self.decode(z).float()
        if self.ar is not None:  # teacher forcing: the true earlier columns
            raw = raw + self.ar.teacher(batch)
        return raw, mu, logvar, self.sigma()


class _VAETask(nn.Module):
    """Training step and validation loss of the VAE (what :class:`Trainer` runs)."""

    def __init__(
        self,
        net: _VAENet,
        layout: SpanLayout,
        lr: float,
        l2: float,
        loss_factor: float,
        kl_anneal_epochs: int,
    ) -> None:
        super().__init__()
        self.net = net
        self.layout = layout
        self.loss_factor = loss_factor
        self.kl_anneal_epochs = kl_anneal_epochs
        groups: list[dict[str, Any]] = [
            {"params": [p for n, p in net.named_parameters() if not n.startswith("ar.")]}
        ]
        if net.ar is not None:
            # The autoregressive weights start at zero and must outgrow what the latent code
            # already explains during training: a larger step lets them (x30 beat x10 and
            # x100 on Adult's pair trends).
            groups.append({"params": list(net.ar.parameters()), "lr": lr * _AR_LR_FACTOR})
        self.optimizer = torch.optim.Adam(groups, lr=lr, weight_decay=l2)

    def terms(
        self, outputs: tuple[torch.Tensor, ...], batch: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-row reconstruction and KL terms of the network's outputs."""
        raw, mu, logvar, sigma = outputs
        lay = self.layout
        rec = lay.cross_entropy(raw, batch)
        if lay.n_continuous:
            mean = torch.tanh(raw[:, lay.cont_idx])
            err = (batch[:, lay.cont_idx] - mean) ** 2 / (2 * sigma**2) + torch.log(sigma)
            rec = rec + err.sum(dim=1)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).float().sum(dim=1)
        return rec, kl

    def noise(self, batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        shape = (len(batch), self.net.mu.out_features)
        return torch.randn(shape, generator=generator, device=batch.device, dtype=batch.dtype)

    def loss(
        self, batch: torch.Tensor, generator: torch.Generator, beta: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rec, kl = self.terms(self.net(batch, self.noise(batch, generator)), batch)
        n = len(batch)
        return (self.loss_factor * rec.sum() + beta * kl.sum()) / n, rec.mean(), kl.mean()

    def training_step(self, batch: torch.Tensor, trainer: Trainer) -> dict[str, torch.Tensor]:
        beta = 1.0
        if self.kl_anneal_epochs:
            beta = min(1.0, (trainer.epoch_ + 1) / (self.kl_anneal_epochs + 1))
        if self.dp is not None:
            return self._private_step(batch, trainer, beta)
        with trainer.autocast():
            loss, rec, kl = self.loss(batch, trainer.generator_, beta)
        trainer.optimize(loss, self.optimizer)
        return {"loss": loss, "reconstruction": rec, "kl": kl}

    #: the DP-SGD driver when training with differential privacy (set by the generator)
    dp: Any = None

    def row_loss(self, params: dict[str, torch.Tensor], row, eps, beta) -> torch.Tensor:
        """The loss of one row under ``params`` (for per-row gradients)."""
        from torch.func import functional_call

        outputs = functional_call(self.net, params, (row[None], eps[None]))
        rec, kl = self.terms(outputs, row[None])
        return (self.loss_factor * rec + beta * kl).sum()

    def _private_step(self, batch, trainer: Trainer, beta: float) -> dict[str, torch.Tensor]:
        if not self.dp.can_step():
            trainer.request_stop("privacy_budget")
            return {}
        eps = self.noise(batch, trainer.generator_)
        betas = torch.full((len(batch),), float(beta), device=batch.device)
        self.dp.step(batch, eps, betas)
        # No losses are logged: they are computed from real rows outside the accountant, and
        # the history is saved with the model.
        return {}

    def validation_loss(self, data: torch.Tensor, trainer: Trainer) -> float:
        # A fixed seed keeps the validation noise identical across epochs.
        gen = torch.Generator(device=data.device)
        gen.manual_seed(0)
        return float(self.loss(data, gen)[0])


@register("vae")
class TabularVAE(BaseGenerator):
    """Variational autoencoder for mixed tables (TVAE-class).

    Parameters
    ----------
    epochs : int
        Largest number of passes over the data.
    max_time : float, optional
        Training budget in seconds of wall clock (``None``: only ``epochs`` limits it, so a
        fit repeats exactly with the same ``random_state``; a time budget makes the result
        depend on the machine's speed and load).
    batch_size : int
        Rows per gradient step.
    latent_dim : int
        Width of the latent code.
    hidden : tuple of int
        Widths of the encoder's hidden layers (the decoder mirrors them).
    learning_rate : float
        Adam step size.
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
    autoregressive : bool
        Let the decoder's output for each column also depend on the columns before it (a
        masked linear map of their values, learned with the true values during training and
        fed the sampled ones, column by column, when sampling). A factorised decoder (``False``,
        TVAE's) draws every column independently given the latent code, which loses exact
        relations such as Adult's education and education-num; the autoregressive head keeps
        them at the cost of one small matrix product per column when sampling.
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
    grad_clip : float, optional
        Largest gradient norm per step.
    validation_fraction : float
        Rows held out for early stopping (0: train on everything, no early stopping).
    patience : int, optional
        Epochs without improvement before stopping (needs ``validation_fraction > 0``).
    precision : {"auto", "float32"}
        ``"auto"`` trains in bfloat16 mixed precision where the hardware computes bfloat16
        natively (CUDA; CPUs with AVX512-BF16 or AMX), so the time budget buys more epochs;
        ``"float32"`` always trains in float32.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
    epsilon : float, optional
        Train with (``epsilon``, ``delta``)-differential privacy (DP-SGD through opacus,
        private preprocessing with ``preprocess_share`` of the budget); ``None``: no DP.
        The noise is calibrated so that ``epochs`` epochs spend the budget exactly.
    delta : float
        Differential-privacy delta (with ``epsilon``).
    max_grad_norm : float
        Per-row gradient clipping norm of DP-SGD (replaces ``grad_clip``).
    noise_multiplier : float, optional
        DP-SGD noise as a multiple of ``max_grad_norm``; ``None`` calibrates it to the budget.
        Set it to train until the budget is spent instead (training then stops early).
    preprocess_share : float
        Share of the budget for private bounds, label lists and encoder statistics.
    min_category_count : int
        With ``epsilon``: labels held by fewer rows are never released.
    random_state : int, optional
        Seed for fitting and sampling.
    verbose : bool
        Progress bars with the live loss.

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

    encoder_params: ClassVar[dict[str, Any]] = {"numeric": "gmm", "discrete": "onehot"}

    def __init__(
        self,
        *,
        epochs: int = 80,
        max_time: float | None = None,
        batch_size: int = 1000,
        latent_dim: int = 128,
        hidden: tuple[int, ...] = (256, 256),
        learning_rate: float = 1e-3,
        l2: float = 1e-5,
        loss_factor: float = 2.0,
        kl_anneal_epochs: int = 20,
        value_noise: float = 0.0,
        autoregressive: bool = True,
        prior: str = "mixture",
        prior_components: int = 10,
        grad_clip: float | None = None,
        validation_fraction: float = 0.0,
        patience: int | None = None,
        precision: str = "auto",
        device: str = "auto",
        epsilon: float | None = None,
        delta: float = 1e-5,
        max_grad_norm: float = 1.0,
        noise_multiplier: float | None = None,
        preprocess_share: float = 0.1,
        min_category_count: int = 10,
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.epochs = epochs
        self.max_time = max_time
        self.batch_size = batch_size
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.learning_rate = learning_rate
        self.l2 = l2
        self.loss_factor = loss_factor
        self.kl_anneal_epochs = kl_anneal_epochs
        self.value_noise = value_noise
        self.autoregressive = autoregressive
        self.prior = prior
        self.prior_components = prior_components
        self.grad_clip = grad_clip
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.precision = precision
        self.device = device
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.noise_multiplier = noise_multiplier
        self.preprocess_share = preprocess_share
        self.min_category_count = min_category_count
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def _fast_params(cls) -> dict[str, Any]:
        return {"epochs": 2, "batch_size": 64, "latent_dim": 8, "hidden": (16,), "device": "cpu"}

    def _check_params(self) -> None:
        check_training_params(self)
        if self.epsilon is not None:
            from synthgen.privacy.dp.fitting import check_dp_sgd_params

            check_dp_sgd_params(self)
            if self.validation_fraction:
                raise ConfigurationError(
                    "validation_fraction must be 0 with epsilon: early stopping on real rows "
                    "would spend privacy outside the accountant"
                )
        if (
            isinstance(self.latent_dim, bool)
            or not isinstance(self.latent_dim, int)
            or (self.latent_dim < 1)
        ):
            raise ConfigurationError(
                f"latent_dim must be a positive integer, got {self.latent_dim!r}"
            )
        hidden = self.hidden
        if not isinstance(hidden, (tuple, list)) or not all(
            isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden
        ):
            raise ConfigurationError(f"hidden must be a tuple of positive integers, got {hidden!r}")
        for name in ("l2", "loss_factor", "value_noise"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigurationError(f"{name} must be a non-negative number, got {value!r}")
        if self.prior not in ("mixture", "standard"):
            raise ConfigurationError(f"prior must be 'mixture' or 'standard', got {self.prior!r}")
        k = self.prior_components
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigurationError(f"prior_components must be a positive integer, got {k!r}")
        k = self.kl_anneal_epochs
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ConfigurationError(f"kl_anneal_epochs must be an integer >= 0, got {k!r}")
        frac = self.validation_fraction
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 <= frac < 1:
            raise ConfigurationError(f"validation_fraction must lie in [0, 1), got {frac!r}")
        if self.patience is not None:
            if (
                isinstance(self.patience, bool)
                or not isinstance(self.patience, int)
                or (self.patience < 1)
            ):
                raise ConfigurationError(
                    f"patience must be a positive integer or None, got {self.patience!r}"
                )
            if frac == 0:
                raise ConfigurationError("patience needs validation_fraction > 0")

    def _factory(self):
        dims = (self.encoder_.output_dim, self.latent_dim, tuple(self.hidden))
        spans = self.encoder_.spans
        n_cont = SpanLayout(spans).n_continuous
        ranks = span_ranks(spans) if self.autoregressive else None
        return lambda: _VAENet(*dims, n_cont, ranks)

    def _prepare(self, data, schema, rng):
        if self.epsilon is None:
            return super()._prepare(data, schema, rng)
        from synthgen.privacy.dp.fitting import private_prepare

        mapped, dp_schema, surrogate, n_rows, _ = private_prepare(self, data, schema, rng)
        return mapped, dp_schema, surrogate, n_rows

    def _fit_encoded(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        private = self.epsilon is not None
        overrides: dict[str, Any] = {}
        if private:
            sample_rate = min(1.0, self.batch_size / max(self.n_train_rows_, 1))
            overrides = {"sample_rate": sample_rate, "grad_clip": None, "mixed_precision": False}
        trainer = trainer_for(self, rng, **overrides)
        device = trainer.device_
        layout = SpanLayout(self.encoder_.spans, device)
        net = build_module(self._factory(), device, trainer.generator_)
        task = _VAETask(
            net, layout, self.learning_rate, self.l2, self.loss_factor, self.kl_anneal_epochs
        )
        if private:
            from synthgen.privacy.dp.fitting import dp_sgd_driver, record_dp_sgd

            task.dp = dp_sgd_driver(self, net, task.optimizer, task.row_loss, trainer)
        trainer.fit(task, torch.from_numpy(matrix))
        if private:
            record_dp_sgd(self, task.dp, trainer)
            task.dp = None
        self.net_ = net.eval()
        self.layout_ = layout
        self.device_ = device
        self.history_ = trainer.history_
        self.n_epochs_ = trainer.n_epochs_
        self.prior_ = None
        if self.prior == "mixture" and not private:
            # Under differential privacy the standard prior stays: a mixture fitted to the
            # latent codes of real rows would read them outside the accountant.
            self.prior_ = fit_latent_mixture(
                net, matrix, self.prior_components, device, trainer.generator_, rng
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

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"n_epochs": self.n_epochs_, "history": self.history_}
        if getattr(self, "privacy_", None) is not None:
            meta["privacy"] = self.privacy_
        arrays = module_arrays(self.net_, "net")
        if self.prior_ is not None:
            arrays.update(self.prior_.arrays("prior"))
        return meta, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        # The saved weights say whether the network has the autoregressive head (files
        # written before the head existed have no such parameter and no head).
        self.autoregressive = "net.ar.weight" in arrays
        self.device_ = resolve_saved_device(self.device)
        self.layout_ = SpanLayout(self.encoder_.spans, self.device_)
        self.net_ = load_module(self._factory(), arrays, "net", self.device_)
        self.n_epochs_ = int(meta["n_epochs"])
        self.history_ = list(meta["history"])
        self.prior_ = LatentMixture.from_arrays(arrays, "prior", self.device_)
        if "privacy" in meta:
            self.privacy_ = dict(meta["privacy"])
            self.epsilon_ = float(self.privacy_["epsilon"])
            self.delta_ = float(self.privacy_["delta"])
