"""The estimator: :class:`TabularDiffusion`, registered as ``"diffusion"``."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from synthgen.generators.compact import CompactPlan
from synthgen.generators.diffusion.denoiser import MLPDenoiser
from synthgen.generators.diffusion.process import MixedDiffusion
from synthgen.generators.diffusion.schedules import make_schedule
from synthgen.generators.neural import NeuralGenerator
from synthgen.generators.nn import build_module, load_module, module_arrays, sample_in_chunks
from synthgen.generators.params import Check, Integer, Options, Real, validate_params
from synthgen.generators.tags import GeneratorTags
from synthgen.training import EMA, LRSchedule, Trainer
from synthgen.training.disk_rows import as_rows
from synthgen.training.sharding import total_rows
from synthgen.utils import torch_generator

__all__ = ["TabularDiffusion"]


class _DiffusionTask(nn.Module):
    """One AdamW step on the diffusion loss per batch (the learning-rate decay and the
    average of the weights are the Trainer's callbacks: see :meth:`TabularDiffusion._train`)."""

    def __init__(
        self, net: nn.Module, process: MixedDiffusion, *, lr: float, weight_decay: float
    ) -> None:
        super().__init__()
        self.net = net
        self.process = process
        self.optimizer = torch.optim.AdamW(
            net.parameters(), lr=lr, weight_decay=weight_decay, foreach=True
        )

    def training_step(self, batch: torch.Tensor, trainer: Trainer) -> dict[str, torch.Tensor]:
        with trainer.autocast():
            loss, num, cat = self.process.loss(self.net, batch, trainer.generator_)
        trainer.optimize(loss, self.optimizer)
        return {"loss": loss, "numeric": num, "categorical": cat}


#: Optimiser steps of ``epochs="auto"``: what the former 300 s CPU budget bought on Adult,
#: creditcard and bank marketing (6,200-7,700 steps of 1,024 rows).
AUTO_STEPS = 7_500


def _is_schedule(value: Any) -> bool:
    make_schedule(value, "schedule")
    return True


class TabularDiffusion(NeuralGenerator):
    """Mixed-type diffusion model for tables (TabDDPM / TabDiff family).

    Numbers are quantile-normalised to standard normal scores by the shared encoder and follow
    a continuous-time Gaussian diffusion; categories and missing-value flags follow a masked
    (absorbing) diffusion. One denoiser (an MLP with a time embedding) reads the whole noised
    row; sampling runs ``sample_steps`` reverse steps (DPM-Solver++(2M) or DDIM on the
    probability-flow ODE for the numbers, progressive unmasking for the categories).
    Conditions are met natively by inpainting (see ``cond_prob``). Training length is a
    number of optimiser steps fixed by the data (``epochs="auto"``), so a fit repeats exactly.

    Parameters
    ----------
    **params
        The settings every neural generator shares
        (:class:`~synthgen.generators.neural.NeuralGenerator`), among them ``epochs``:
        passes over the data; ``"auto"`` (the default here) trains :data:`AUTO_STEPS`
        optimiser steps whatever the table's size (at least one epoch): about 290 epochs of
        Adult. The learning rate decays linearly over the planned steps.
    width : int
        Hidden width of the denoiser.
    n_layers : int
        Residual blocks of the denoiser.
    time_dim : int
        Width of the sinusoidal time embedding.
    weight_decay : float
        AdamW weight decay.
    ema_decay : float
        Decay of the exponential moving average of the weights used for sampling, in
        ``[0, 1)`` (0: the raw weights).
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

    key = "diffusion"
    tags = GeneratorTags(conditioning=True, neural=True)
    encoder_params: ClassVar[dict[str, Any]] = {"numeric": "quantile", "discrete": "onehot"}
    training_defaults: ClassVar[dict[str, Any]] = {
        "epochs": "auto",
        "batch_size": 1024,
        "learning_rate": 3e-3,
        "grad_clip": 1.0,
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "epochs": [Integer(1), Options("auto")],
        "width": [Integer(1)],
        "n_layers": [Integer(1)],
        "time_dim": [Integer(1)],
        "weight_decay": [Real(0)],
        "ema_decay": [Real(0, 1, open_high=True)],
        "num_schedule": [Check(_is_schedule, "'cosine', 'linear' or a Schedule", "wavy")],
        "cat_schedule": [Check(_is_schedule, "'cosine', 'linear' or a Schedule", "wavy")],
        "cond_prob": [Real(0, 1, open_high=True)],
        "sample_steps": [Integer(1)],
        "sampler": [Options("dpm2m", "ddim")],
        "sample_batch_size": [Integer(1)],
    }

    def __init__(
        self,
        *,
        width: int = 256,
        n_layers: int = 3,
        time_dim: int = 128,
        weight_decay: float = 1e-4,
        ema_decay: float = 0.999,
        num_schedule: Any = "cosine",
        cat_schedule: Any = "linear",
        cond_prob: float = 0.2,
        sample_steps: int = 30,
        sampler: str = "dpm2m",
        sample_batch_size: int = 8192,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.width = width
        self.n_layers = n_layers
        self.time_dim = time_dim
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.num_schedule = num_schedule
        self.cat_schedule = cat_schedule
        self.cond_prob = cond_prob
        self.sample_steps = sample_steps
        self.sampler = sampler
        self.sample_batch_size = sample_batch_size

    @classmethod
    def _fast_params(cls) -> dict[str, Any]:
        return {
            **super()._fast_params(),
            "width": 32,
            "n_layers": 1,
            "time_dim": 16,
            "sample_steps": 4,
        }

    def planned_epochs(self, n_rows: int) -> int:
        """Epochs a fit on ``n_rows`` rows runs (``epochs``, or what ``"auto"`` makes of it).

        Examples
        --------
        >>> TabularDiffusion().planned_epochs(26_049)
        288
        >>> TabularDiffusion(epochs=5).planned_epochs(26_049)
        5
        """
        if self.epochs != "auto":
            return int(self.epochs)
        steps_per_epoch = math.ceil(max(n_rows, 1) / self.batch_size)
        return max(1, round(AUTO_STEPS / steps_per_epoch))

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

    def _train(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        # Linear decay to 5% of the base rate over the planned steps (the last steps refine
        # instead of wandering); sampling uses an average of the weights (with warm-up, so a
        # short run is not dominated by the initial weights).
        callbacks: list[Any] = [LRSchedule(decay="linear", final_fraction=0.05)]
        ema = EMA(lambda task: task.net, self.ema_decay) if self.ema_decay > 0 else None
        if ema is not None:
            callbacks.append(ema)
        trainer = self.make_trainer(
            rng, max_epochs=self.planned_epochs(total_rows(len(matrix))), callbacks=callbacks
        )
        device = trainer.device_
        process = self._process(device)
        net = build_module(self._factory(process), device, trainer.generator_)
        task = _DiffusionTask(net, process, lr=self.learning_rate, weight_decay=self.weight_decay)
        trainer.fit(task, as_rows(matrix), expand=CompactPlan.of(self.encoder_).expand)
        if ema is not None:  # keep the averaged weights (and buffers) as the network
            net.load_state_dict(ema.averaged_.state_dict())
        self.net_ = net.eval()
        self.process_ = process
        self._record_training(trainer)

    def _steps(self) -> int:
        # sample_steps, sampler and sample_batch_size may change after fitting (set_params).
        validate_params(self)
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

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return self._training_meta(), module_arrays(self.net_, "net")

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._restore_training_meta(meta)
        self.process_ = self._process(self.device_)
        self.net_ = load_module(self._factory(self.process_), arrays, "net", self.device_)
