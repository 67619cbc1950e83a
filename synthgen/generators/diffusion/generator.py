"""The estimator: :class:`TabularDiffusion`, registered as ``"diffusion"``."""

from __future__ import annotations

import copy
import math
import time
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from synthgen.exceptions import ConfigurationError
from synthgen.generators.base import BaseGenerator
from synthgen.generators.diffusion.denoiser import MLPDenoiser
from synthgen.generators.diffusion.process import MixedDiffusion
from synthgen.generators.diffusion.schedules import make_schedule
from synthgen.generators.nn import (
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

__all__ = ["TabularDiffusion"]


class _DiffusionTask(nn.Module):
    """One AdamW step on the diffusion loss per batch, with an EMA of the weights and a learning
    rate that decays linearly over the budget (epochs or time, whichever ends first)."""

    def __init__(
        self,
        net: nn.Module,
        process: MixedDiffusion,
        *,
        lr: float,
        weight_decay: float,
        ema_decay: float,
        total_steps: int,
        max_time: float | None,
    ) -> None:
        super().__init__()
        self.net = net
        self.process = process
        self.lr = lr
        self.ema_decay = ema_decay
        self.total_steps = max(total_steps, 1)
        self.max_time = max_time
        self.optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
        # A plain copy: no random draw, so the global RNG stays untouched.
        self.ema = copy.deepcopy(net).requires_grad_(False) if ema_decay > 0 else None
        self.n_steps = 0
        self._start: float | None = None

    def _progress(self) -> float:
        frac = self.n_steps / self.total_steps
        if self.max_time is not None and self._start is not None:
            frac = max(frac, (time.perf_counter() - self._start) / self.max_time)
        return min(frac, 1.0)

    def training_step(self, batch: torch.Tensor, trainer: Trainer) -> dict[str, torch.Tensor]:
        if self._start is None:
            self._start = time.perf_counter()
        # Linear decay to 5% of the base rate: the last steps refine instead of wandering.
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * (1.0 - 0.95 * self._progress())
        with trainer.autocast():
            loss, num, cat = self.process.loss(self.net, batch, trainer.generator_)
        trainer.optimize(loss, self.optimizer)
        self.n_steps += 1
        if self.ema is not None:
            # Warm-up (as in TensorFlow's EMA) so a short run is not dominated by the init.
            decay = min(self.ema_decay, (1 + self.n_steps) / (10 + self.n_steps))
            with torch.no_grad():
                for e, p in zip(self.ema.parameters(), self.net.parameters(), strict=True):
                    e.lerp_(p, 1.0 - decay)
        return {"loss": loss, "numeric": num, "categorical": cat}

    def finalize(self) -> None:
        """Copy the averaged weights into the network that is kept."""
        if self.ema is not None:
            self.net.load_state_dict(self.ema.state_dict())


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")


@register("diffusion")
class TabularDiffusion(BaseGenerator):
    """Mixed-type diffusion model for tables (TabDDPM / TabDiff family).

    Numbers are quantile-normalised to standard normal scores by the shared encoder and follow
    a continuous-time Gaussian diffusion; categories and missing-value flags follow a masked
    (absorbing) diffusion. One denoiser (an MLP with a time embedding) reads the whole noised
    row; sampling runs ``sample_steps`` reverse steps (DPM-Solver++(2M) or DDIM on the
    probability-flow ODE for the numbers, progressive unmasking for the categories).
    Conditions are met natively by inpainting (see ``cond_prob``). Fit time is bounded by
    ``max_time``; on a shared CPU ``torch.set_num_threads(1)`` is often much faster.

    Parameters
    ----------
    epochs : int
        Largest number of passes over the data.
    max_time : float, optional
        Training budget in seconds of wall clock (``None``: only ``epochs`` limits it). The
        learning rate decays over whichever budget ends first.
    batch_size : int
        Rows per gradient step.
    width : int
        Hidden width of the denoiser.
    n_layers : int
        Residual blocks of the denoiser.
    time_dim : int
        Width of the sinusoidal time embedding.
    learning_rate : float
        AdamW step size at the start.
    weight_decay : float
        AdamW weight decay.
    ema_decay : float
        Decay of the exponential moving average of the weights used for sampling, in
        ``[0, 1)`` (0: the raw weights).
    grad_clip : float, optional
        Largest gradient norm per step.
    num_schedule : {"cosine", "linear"} or Schedule
        Signal share over time of the Gaussian diffusion on numbers.
    cat_schedule : {"linear", "cosine"} or Schedule
        Share of categories still visible over time in the masked diffusion.
    cond_prob : float
        Share of training rows, in ``[0, 1)``, on which a random subset of columns is given
        clean and left out of the loss, so the denoiser learns to condition on exact values
        (conditions, imputation). 0: numbers are inpainted with RePaint instead.
    sample_steps : int
        Reverse steps (denoiser calls) per sampled batch; may be changed after fitting with
        ``set_params`` to trade quality for speed.
    sampler : {"dpm2m", "ddim"}
        Solver for the numbers: DPM-Solver++(2M) (second order, no extra network call) or
        deterministic DDIM (first order).
    sample_batch_size : int
        Rows denoised at once while sampling (bounds memory).
    precision : {"auto", "float32"}
        ``"auto"`` trains the denoiser in bfloat16 mixed precision where the hardware computes
        bfloat16 natively (CUDA, and CPUs with AVX512-BF16 or AMX), so a time budget buys
        more steps; float32 elsewhere. ``"float32"`` always trains in float32.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
    random_state : int, optional
        Seed for fitting and sampling.
    verbose : bool
        Progress bars with the live loss.

    Attributes
    ----------
    history_ : list of dict
        Per-epoch losses (``loss``, ``numeric``, ``categorical``, ``time``).
    n_epochs_ : int
        Epochs run.

    Examples
    --------
    >>> import synthgen as sg
    >>> df = sg.datasets.load_adult().head(200)
    >>> model = TabularDiffusion(epochs=1, width=32, sample_steps=5, random_state=0).fit(df)
    >>> model.sample(5, random_state=1).shape
    (5, 15)
    >>> model.sample(3, conditions={"sex": "Female"}, random_state=1)["sex"].tolist()
    ['Female', 'Female', 'Female']
    """

    encoder_params: ClassVar[dict[str, Any]] = {"numeric": "quantile", "discrete": "onehot"}
    _supports_conditioning: ClassVar[bool] = True

    def __init__(
        self,
        *,
        epochs: int = 10_000,
        max_time: float | None = 300.0,
        batch_size: int = 1024,
        width: int = 256,
        n_layers: int = 3,
        time_dim: int = 128,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        ema_decay: float = 0.999,
        grad_clip: float | None = 1.0,
        num_schedule: Any = "cosine",
        cat_schedule: Any = "linear",
        cond_prob: float = 0.2,
        sample_steps: int = 30,
        sampler: str = "dpm2m",
        sample_batch_size: int = 8192,
        precision: str = "auto",
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.epochs = epochs
        self.max_time = max_time
        self.batch_size = batch_size
        self.width = width
        self.n_layers = n_layers
        self.time_dim = time_dim
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.grad_clip = grad_clip
        self.num_schedule = num_schedule
        self.cat_schedule = cat_schedule
        self.cond_prob = cond_prob
        self.sample_steps = sample_steps
        self.sampler = sampler
        self.sample_batch_size = sample_batch_size
        self.precision = precision
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def _fast_params(cls) -> dict[str, Any]:
        return {
            "epochs": 2,
            "max_time": None,
            "batch_size": 64,
            "width": 32,
            "n_layers": 1,
            "time_dim": 16,
            "sample_steps": 4,
            "device": "cpu",
        }

    def _check_params(self) -> None:
        check_training_params(self)
        for name in ("width", "n_layers", "time_dim", "sample_steps", "sample_batch_size"):
            _positive_int(name, getattr(self, name))
        wd = self.weight_decay
        if isinstance(wd, bool) or not isinstance(wd, (int, float)) or not wd >= 0:
            raise ConfigurationError(f"weight_decay must be a non-negative number, got {wd!r}")
        ema = self.ema_decay
        if isinstance(ema, bool) or not isinstance(ema, (int, float)) or not 0 <= ema < 1:
            raise ConfigurationError(f"ema_decay must lie in [0, 1), got {ema!r}")
        cp = self.cond_prob
        if isinstance(cp, bool) or not isinstance(cp, (int, float)) or not 0 <= cp < 1:
            raise ConfigurationError(f"cond_prob must lie in [0, 1), got {cp!r}")
        make_schedule(self.num_schedule, "num_schedule")
        make_schedule(self.cat_schedule, "cat_schedule")
        self._steps()

    def _process(self, device: Any) -> MixedDiffusion:
        return MixedDiffusion(
            self.encoder_.spans,
            make_schedule(self.num_schedule, "num_schedule"),
            make_schedule(self.cat_schedule, "cat_schedule"),
            device,
            cond_prob=self.cond_prob,
        )

    def _factory(self, process: MixedDiffusion):
        dims = (process.in_dim, process.out_dim, self.width, self.n_layers, self.time_dim)
        return lambda: MLPDenoiser(*dims)

    def _fit_encoded(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        trainer = trainer_for(self, rng)
        device = trainer.device_
        process = self._process(device)
        net = build_module(self._factory(process), device, trainer.generator_)
        steps_per_epoch = math.ceil(len(matrix) / self.batch_size)
        task = _DiffusionTask(
            net,
            process,
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
            ema_decay=self.ema_decay,
            total_steps=self.epochs * steps_per_epoch,
            max_time=self.max_time,
        )
        trainer.fit(task, torch.from_numpy(matrix))
        task.finalize()
        self.net_ = net.eval()
        self.process_ = process
        self.device_ = device
        self.history_ = trainer.history_
        self.n_epochs_ = trainer.n_epochs_

    def _steps(self) -> int:
        if self.sampler not in ("dpm2m", "ddim"):
            raise ConfigurationError(f"sampler must be 'dpm2m' or 'ddim', got {self.sampler!r}")
        _positive_int("sample_steps", self.sample_steps)
        _positive_int("sample_batch_size", self.sample_batch_size)
        return self.sample_steps

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        steps = self._steps()
        gen = torch_generator(rng, self.device_)
        self.net_.eval()

        def draw(size: int) -> torch.Tensor:
            return self.process_.sample(
                self.net_, size, steps=steps, generator=gen, solver=self.sampler
            )

        return sample_in_chunks(n_samples, self.sample_batch_size, draw)

    def _sample_encoded_given(
        self, matrix: np.ndarray, known: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        steps = self._steps()
        gen = torch_generator(rng, self.device_)
        self.net_.eval()
        fixed = torch.as_tensor(np.asarray(matrix, dtype=np.float32))
        mask = torch.as_tensor(np.asarray(known, dtype=bool))
        chunk = self.sample_batch_size
        parts = []
        with torch.no_grad():
            for start in range(0, len(fixed), chunk):
                f, k = fixed[start : start + chunk], mask[start : start + chunk]
                out = self.process_.sample(
                    self.net_,
                    len(f),
                    steps=steps,
                    generator=gen,
                    fixed=f,
                    known=k,
                    solver=self.sampler,
                )
                parts.append(out.float().cpu().numpy())
        out = np.concatenate(parts, axis=0)
        # Known entries come back exactly as given (no float round trip through the device).
        return np.where(known, matrix, out).astype(np.float32, copy=False)

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"n_epochs": self.n_epochs_, "history": self.history_}
        return meta, module_arrays(self.net_, "net")

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.device_ = resolve_saved_device(self.device)
        self.process_ = self._process(self.device_)
        self.net_ = load_module(self._factory(self.process_), arrays, "net", self.device_)
        self.n_epochs_ = int(meta["n_epochs"])
        self.history_ = list(meta["history"])
