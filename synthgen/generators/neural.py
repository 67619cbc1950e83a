"""The base of every neural generator: shared training parameters, the Trainer, network state.

:class:`NeuralGenerator` declares the training parameters all neural families share once
(:data:`TRAINING_PARAMS`, plus :data:`~synthgen.generators.private.DP_SGD_PARAMS` for the
families tagged ``differential_privacy``). A subclass's ``__init__`` lists only its own
parameters and passes ``**params`` up; its family defaults go in ``training_defaults``. The
constructor signature that scikit-learn's ``get_params``/``clone``/``repr`` read is composed
from both, so every parameter is still an explicit keyword of the class.

The fit template: validate, build the :class:`~synthgen.training.Trainer` from the shared
parameters (:meth:`make_trainer`), let the subclass train (:meth:`_train`), record what the
Trainer reports (``history_``, ``n_epochs_``, ``stop_reason_``, ``device_``), all inside the
thread limit of ``n_threads``; saving and loading the training record is shared too.
"""

from __future__ import annotations

import contextlib
import inspect
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from synthgen.exceptions import ConfigurationError
from synthgen.generators.base import BaseGenerator
from synthgen.generators.params import Boolean, Check, Integer, Options, Real, Seed
from synthgen.generators.private import DP_SGD_PARAMS
from synthgen.privacy.dp.fitting import privacy_summary
from synthgen.training import DPSGDStrategy, Trainer, thread_limit
from synthgen.training import distributed as dist
from synthgen.training.heap import reuse_freed_memory
from synthgen.training.sharding import input_is_sharded
from synthgen.utils import check_random_state, resolve_device

__all__ = ["TRAINING_PARAMS", "NeuralGenerator"]

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def _is_device(value: Any) -> bool:
    if isinstance(value, str):
        return bool(_DEVICE.match(value))
    return type(value).__name__ == "device" and type(value).__module__ == "torch"


#: name -> (default, constraints, description) of the parameters every neural family takes.
TRAINING_PARAMS: dict[str, tuple[Any, list[Any], str]] = {
    "epochs": (100, [Integer(1)], "Passes over the training rows (the training length)."),
    "max_time": (
        None,
        [Real(0, open_low=True), None],
        "Opt-in cap on training, in seconds of wall clock. ``None`` (the default): training "
        "length depends on the data alone, so a fit repeats exactly on any machine; when the "
        "cap cuts training short a warning says so and ``stop_reason_`` is ``'max_time'``.",
    ),
    "batch_size": (500, [Integer(1)], "Rows per gradient step."),
    "learning_rate": (1e-3, [Real(0, open_low=True)], "Peak optimiser step size."),
    "grad_clip": (
        None,
        [Real(0, open_low=True), None],
        "Largest total gradient norm per update (``None``: no clipping).",
    ),
    "precision": (
        "auto",
        [Options("auto", "float32")],
        "``'auto'`` trains in bfloat16 mixed precision where the hardware computes bfloat16 "
        "natively (CUDA; CPUs with AVX512-BF16 or AMX), ``'float32'`` always in float32.",
    ),
    "device": (
        "auto",
        [Check(_is_device, "'auto', 'cpu', 'cuda', 'cuda:N', 'mps' or a torch.device", "gpu")],
        "Where to train: ``'auto'`` (cuda, then mps, then cpu) or an explicit device.",
    ),
    "n_threads": (
        None,
        [Integer(1), None],
        "CPU threads torch may use while fitting and sampling (restored afterwards). ``None``: "
        "as many as the process may run on, at most 4 (more oversubscribes a shared machine).",
    ),
    "random_state": (None, [Seed()], "Seed for fitting and sampling."),
    "verbose": (False, [Boolean()], "Progress bars with the live losses."),
}


def _shared_table(cls: type) -> dict[str, tuple[Any, list[Any], str]]:
    table = dict(TRAINING_PARAMS)
    if cls.tags.differential_privacy:  # type: ignore[attr-defined]
        table.update(DP_SGD_PARAMS)
    return table


def _parameters_doc(table: dict[str, tuple[Any, list[Any], str]], defaults: dict) -> str:
    lines = []
    for name, (default, _, text) in table.items():
        lines.append(f"    {name} : default {defaults.get(name, default)!r}")
        lines.append(f"        {text}")
    return "\n".join(lines)


class NeuralGenerator(BaseGenerator):
    """Base class of the neural generators (vae, gan, diffusion, transformer).

    Subclasses implement :meth:`_train` (and ``_sample_encoded``, :meth:`get_state`,
    :meth:`set_state` for their own network). Their shared parameters are documented in
    :data:`TRAINING_PARAMS`.

    Attributes
    ----------
    history_ : list of dict
        One entry per epoch: the averaged losses and ``time``.
    n_epochs_ : int
        Epochs run.
    stop_reason_ : str
        Why training stopped: ``"max_epochs"``, ``"early_stopping"``, ``"max_time"``,
        ``"privacy_budget"``, ...
    device_ : torch.device
        Where the network lives.
    """

    #: Neural families train on the compact matrix and widen it a batch at a time
    #: (:mod:`synthgen.generators.compact`); the transformer's has no one-hot block.
    compact_training: ClassVar[bool] = True
    #: Family defaults of the shared training parameters (e.g. ``{"epochs": 80}``).
    training_defaults: ClassVar[dict[str, Any]] = {}
    #: The saved weight that only a network with the autoregressive head has (files written
    #: before the ``autoregressive`` parameter existed are read by it); None: no such head.
    _head_weight: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = _shared_table(cls)
        cls._parameter_constraints = {
            **{name: spec[1] for name, spec in table.items()},
            **cls.__dict__.get("_parameter_constraints", {}),
        }
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        own = [
            p
            for p in inspect.signature(init).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        names = {p.name for p in own}
        shared = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=cls.training_defaults.get(name, default),
            )
            for name, (default, _, _) in table.items()
            if name not in names
        ]
        self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        init.__signature__ = inspect.Signature([self_param, *own, *shared])
        if cls.__doc__ and "Parameters\n    ----------\n" in cls.__doc__:
            head, sep, rest = cls.__doc__.partition("\n    Attributes\n    ----------\n")
            if not sep:
                head, sep, rest = cls.__doc__.partition("\n    Examples\n    --------\n")
            documented = {n for n in table if f"\n    {n} : " in head}
            shared_doc = _parameters_doc(
                {n: s for n, s in table.items() if n not in names | documented},
                cls.training_defaults,
            )
            cls.__doc__ = head.rstrip("\n") + "\n" + shared_doc + "\n" + sep + rest

    def __init__(self, **params: Any) -> None:
        table = _shared_table(type(self))
        unknown = sorted(set(params) - set(table))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {unknown[0]!r}"
            )
        for name, (default, _, _) in table.items():
            value = params.get(name, type(self).training_defaults.get(name, default))
            setattr(self, name, value)

    @classmethod
    def _fast_params(cls) -> dict[str, Any]:
        return {"epochs": 2, "batch_size": 64, "device": "cpu"}

    @classmethod
    def _upgrade_params(cls, params: dict[str, Any], bundle: Any) -> dict[str, Any]:
        if cls._head_weight is not None and "autoregressive" not in params:
            params = {**params, "autoregressive": cls._head_weight in bundle.arrays}
        return params

    @classmethod
    def shared_parameters(cls) -> list[str]:
        """Names of the shared training (and DP) parameters this family takes.

        Examples
        --------
        >>> from synthgen.generators.diffusion import TabularDiffusion
        >>> "epochs" in TabularDiffusion.shared_parameters()
        True
        """
        return list(_shared_table(cls))

    # -- checks involving several parameters ----------------------------------------------------
    def _check_params(self) -> None:
        resolve_device(self.device)  # an unavailable device is refused before any work
        if getattr(self, "epsilon", None) is not None and self.grad_clip is not None:
            raise ConfigurationError(
                "grad_clip must be None with epsilon: DP-SGD clips each row's gradient "
                "to max_grad_norm instead"
            )
        if getattr(self, "epsilon", None) is not None and dist.is_distributed():
            raise ConfigurationError(
                "epsilon (DP-SGD) cannot train across several processes: its privacy "
                "accounting assumes one Poisson sample of the whole table per step; fit "
                "with epsilon in a single process (without torchrun)"
            )
        patience = getattr(self, "patience", None)
        if patience is not None and not getattr(self, "validation_fraction", 0):
            raise ConfigurationError("patience needs validation_fraction > 0")

    # -- the fit template -------------------------------------------------------------------------
    @contextlib.contextmanager
    def threads(self) -> Iterator[None]:
        """Limit torch's CPU threads to ``n_threads`` for the duration (restored after)."""
        with thread_limit(self.n_threads):
            yield

    def make_trainer(self, rng: np.random.Generator, **overrides: Any):
        """The :class:`~synthgen.training.Trainer` the shared parameters ask for.

        ``overrides`` (e.g. ``sample_rate`` for DP-SGD, ``batch_size``) win.
        """
        kwargs: dict[str, Any] = {
            "max_epochs": self.epochs,
            "max_time": self.max_time,
            "batch_size": self.batch_size,
            "device": self.device,
            "grad_clip": self.grad_clip,
            "mixed_precision": "any" if self.precision == "auto" else False,
            "verbose": self.verbose,
        }
        for name in ("validation_fraction", "patience"):
            if hasattr(self, name):
                kwargs[name] = getattr(self, name)
        kwargs.update(overrides)
        trainer = Trainer(random_state=rng, **kwargs)
        self.device_ = trainer.device_
        return trainer

    def _private_training(self, batch_size: int) -> dict[str, Any]:
        """Trainer settings of a DP-SGD fit: Poisson batches of ``batch_size`` rows on
        average, DP-SGD as the strategy, no other clipping, float32 (empty without
        ``epsilon``)."""
        settings = getattr(self, "dp_settings", None)
        if settings is None:
            return {}
        strategy = DPSGDStrategy(
            epsilon=settings.epsilon,
            max_grad_norm=settings.max_grad_norm,
            n_rows=self.n_train_rows_,
            ledger=self.ledger_,
            noise_multiplier=settings.noise_multiplier,
        )
        return {
            "strategy": strategy,
            "sample_rate": min(1.0, batch_size / max(self.n_train_rows_, 1)),
            "grad_clip": None,
            "mixed_precision": False,
        }

    def _record_privacy(self, trainer: Trainer, **extra: Any) -> None:
        """The privacy record of a DP-SGD fit: what the ledger spent, and how."""
        settings = getattr(self, "dp_settings", None)
        if settings is None:
            return
        record = privacy_summary(settings, self.ledger_)
        record["dp_sgd"] = {**extra, **trainer.strategy.record_}
        self._set_privacy(record)  # type: ignore[attr-defined]

    def _fit_rng(self) -> np.random.Generator:
        # Several processes (torchrun, or a process group set up by the caller) must draw the
        # same encoders, splits and initial weights: with no random_state, rank 0's seed.
        if dist.ensure_process_group(resolve_device(self.device)) and self.random_state is None:
            return check_random_state(dist.shared_seed())
        return super()._fit_rng()

    def _fit_encoded(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        if not input_is_sharded():  # sharded input: each rank holds its own rows
            dist.check_same_data(matrix, "encoded tables")
        with self.threads():
            self._train(matrix, rng)

    def _train(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        """Build the network and train it on the encoded ``matrix`` (subclasses)."""
        raise NotImplementedError

    def _record_training(self, trainer: Any) -> None:
        """Keep what the Trainer reports about the fit."""
        self.history_ = trainer.history_
        self.n_epochs_ = trainer.n_epochs_
        self.stop_reason_ = trainer.stop_reason_

    @contextlib.contextmanager
    def _drawing(self) -> Iterator[None]:
        """:meth:`threads` plus, on a CPU, the memory a draw frees kept for its next chunk
        (glibc; :func:`~synthgen.training.heap.reuse_freed_memory`): a draw allocates the
        same tensors chunk after chunk, and without it a model loaded in a fresh process
        (``synthgen sample``, the workers of ``n_jobs``) takes its pages from the kernel
        again each time."""
        device = getattr(self, "device_", None)
        with self.threads(), reuse_freed_memory(getattr(device, "type", "cpu") == "cpu"):
            yield

    def draw(self, n_rows: int, rng: np.random.Generator):
        with self._drawing():
            return super().draw(n_rows, rng)

    def draw_given(self, fixed, rng: np.random.Generator):
        with self._drawing():
            return super().draw_given(fixed, rng)

    # -- state ------------------------------------------------------------------------------------
    def _training_meta(self) -> dict[str, Any]:
        meta = {
            "n_epochs": self.n_epochs_,
            "history": self.history_,
            "stop_reason": getattr(self, "stop_reason_", ""),
        }
        if getattr(self, "privacy_", None) is not None:
            meta["privacy"] = self.privacy_
        return meta

    def _restore_training_meta(self, meta: dict[str, Any]) -> None:
        try:
            self.device_ = resolve_device(self.device)
        except ConfigurationError:  # saved on a GPU machine, loaded on one without
            self.device_ = resolve_device("cpu")
        self.n_epochs_ = int(meta["n_epochs"])
        self.history_ = list(meta["history"])
        # Files written before the stop reason was recorded: "" (unknown).
        self.stop_reason_ = str(meta.get("stop_reason", ""))
        if "privacy" in meta:
            self._set_privacy(meta["privacy"])  # type: ignore[attr-defined]
