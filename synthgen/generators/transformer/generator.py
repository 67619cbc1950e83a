"""The autoregressive transformer generator (registry key ``"transformer"``).

Rows are generated column by column by :class:`~.model.TokenTransformer`. Training mixes the
schema's column order with random column orders, so at sampling time any subset of columns
can be fixed: they are fed first, and the free columns are generated after them (native
conditioning, imputation and rebalancing through :mod:`synthgen.sampling`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F  # noqa: N812

from synthgen.exceptions import ConfigurationError
from synthgen.generators.base import BaseGenerator
from synthgen.generators.nn import (
    build_module,
    check_training_params,
    load_module,
    module_arrays,
    resolve_saved_device,
)
from synthgen.generators.registry import register
from synthgen.generators.transformer.model import TokenTransformer
from synthgen.generators.transformer.tokenizer import RowTokenizer
from synthgen.training import Trainer, trainer_for
from synthgen.utils import check_random_state, torch_generator

__all__ = ["SIZE_PRESETS", "TabularTransformer", "choose_size"]

#: Architecture of each size: width, layers, attention heads.
SIZE_PRESETS: dict[str, dict[str, int]] = {
    "small": {"d_model": 64, "n_layers": 2, "n_heads": 4},
    "medium": {"d_model": 96, "n_layers": 2, "n_heads": 4},
    "large": {"d_model": 128, "n_layers": 3, "n_heads": 4},
}
# Rows from which "auto" picks medium and large. On a CPU a bigger model buys fewer epochs for
# the same time: on Adult (39k rows) the small preset beat the medium one at an equal budget.
_MEDIUM_ROWS, _LARGE_ROWS = 100_000, 1_000_000
_SAMPLE_CHUNK = 4096


def choose_size(n_rows: int) -> str:
    """The size preset ``size="auto"`` picks for a table of ``n_rows`` rows.

    Examples
    --------
    >>> choose_size(120), choose_size(300_000), choose_size(2_000_000)
    ('small', 'medium', 'large')
    """
    if n_rows >= _LARGE_ROWS:
        return "large"
    return "medium" if n_rows >= _MEDIUM_ROWS else "small"


class _Task(torch.nn.Module):
    """Training step and validation loss (what :class:`Trainer` runs)."""

    def __init__(self, model: TabularTransformer, net: TokenTransformer, n_columns: int) -> None:
        super().__init__()
        self.net = net
        self.n_columns = n_columns
        self.n_sub_bins = model.n_sub_bins
        self.token_dropout = float(model.token_dropout)
        self.random_order = float(model.random_order)
        self.base_lr = float(model.learning_rate)
        self.max_time = model.max_time
        self.optimizer = torch.optim.AdamW(
            net.parameters(), lr=self.base_lr, weight_decay=model.weight_decay, betas=(0.9, 0.99)
        )
        self.total_steps = 1
        self.steps = 0
        self.start: float | None = None
        self.canonical: torch.Tensor | None = None

    def split(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return batch[:, : self.n_columns], batch[:, self.n_columns :]

    def loss(
        self,
        main: torch.Tensor,
        fine: torch.Tensor,
        order: torch.Tensor,
        inputs: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Summed negative log-likelihood of the rows, visiting columns in ``order``."""
        logits, fine_logits = self.net(main, fine, order, inputs)
        nll = F.cross_entropy(logits.flatten(0, 1), main[:, order].flatten(), reduction="sum")
        if fine_logits.shape[1]:
            cols = order[self.net.const("numeric_index")[order] >= 0]
            target = fine[:, cols]
            # A missing number has no fine bin ("none" token): nothing to predict.
            target = torch.where(target >= self.n_sub_bins, -100, target)
            nll = nll + F.cross_entropy(
                fine_logits.flatten(0, 1), target.flatten(), reduction="sum", ignore_index=-100
            )
        return nll

    def _learning_rate(self) -> float:
        """Short warm-up, then a cosine decay over the step or time budget (whichever is
        used up faster), so the last updates are small whatever ends training."""
        import time

        progress = self.steps / self.total_steps
        if self.max_time is not None and self.start is not None:
            progress = max(progress, (time.perf_counter() - self.start) / self.max_time)
        warm = min(1.0, (self.steps + 1) / 20)
        return (
            self.base_lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1))))
        )

    def training_step(self, batch: torch.Tensor, trainer: Trainer) -> dict[str, torch.Tensor]:
        import time

        if self.start is None:
            self.start = time.perf_counter()
        gen = trainer.generator_
        main, fine = self.split(batch)
        n = len(main)
        inputs = None
        if self.token_dropout > 0:
            # Value-level dropout: hide some input tokens behind each column's mask token, so
            # no prediction can lean on one exact combination of values (less memorisation).
            hide = torch.rand(main.shape, generator=gen, device=main.device) < self.token_dropout
            vocab = torch.tensor(self.net.vocab, device=main.device)
            fine_vocab = torch.tensor(self.net.fine_vocab, device=main.device)
            inputs = (torch.where(hide, vocab, main), torch.where(hide, fine_vocab + 1, fine))
        # Part of the batch in schema order (used for free sampling), the rest in one random
        # column order (so any subset of columns can be conditioned on).
        n_random = round(n * self.random_order)
        total = main.new_zeros((), dtype=torch.float32)
        for lo, hi, random in ((0, n - n_random, False), (n - n_random, n, True)):
            if hi <= lo:
                continue
            order = self.canonical
            if random:
                order = torch.randperm(self.n_columns, generator=gen, device=main.device)
            part = None if inputs is None else (inputs[0][lo:hi], inputs[1][lo:hi])
            with trainer.autocast():
                total = total + self.loss(main[lo:hi], fine[lo:hi], order, part)
        loss = total / n
        for group in self.optimizer.param_groups:
            group["lr"] = self._learning_rate()
        trainer.optimize(loss, self.optimizer)
        self.steps += 1
        return {"loss": loss}

    def validation_loss(self, data: torch.Tensor, trainer: Trainer) -> float:
        main, fine = self.split(data)
        total = 0.0
        for lo in range(0, len(main), 8192):
            sl = slice(lo, lo + 8192)
            total += float(self.loss(main[sl], fine[sl], self.canonical))
        return total / len(main)


@register("transformer")
class TabularTransformer(BaseGenerator):
    """Autoregressive transformer over column tokens, trained from scratch.

    Every column becomes tokens: a category (or a missing cell) one token; a number or a date
    a coarse quantile bin and a fine bin inside it, decoded uniformly within the fine bin so
    values are not rounded. A small causal transformer with column embeddings and one output
    head per column predicts each column given the ones before it. Training mixes the schema
    order with random column orders, so any subset of columns can be fixed when sampling and
    the rest is generated given it (``sample(conditions=...)``, ``impute``), and
    :meth:`log_prob` scores rows.

    Parameters
    ----------
    size : {"auto", "small", "medium", "large"}
        Architecture preset (:data:`SIZE_PRESETS`); ``"auto"`` picks by the number of rows
        (:func:`choose_size`).
    d_model, n_layers, n_heads : int, optional
        Override the preset's width, depth and attention heads (``d_model`` must be a multiple
        of ``n_heads``).
    n_bins : int
        Coarse quantile bins per number.
    n_sub_bins : int
        Fine bins inside each coarse bin.
    epochs : int
        Largest number of passes over the data (early stopping may end training sooner). The
        learning rate decays over these epochs (or over ``max_time`` when that runs out
        faster), so a fit far from the time cap repeats exactly with the same ``random_state``.
    max_time : float, optional
        Cap on training in seconds of wall clock, for very large tables (``None``: no cap).
        When it ends training, the fit depends on the machine's speed.
    batch_size : int
        Rows per gradient step.
    learning_rate : float
        Peak AdamW step size (warm-up, then cosine decay over the budget).
    weight_decay : float
        AdamW weight decay.
    token_dropout : float
        Share of input tokens hidden during training, in [0, 1).
    random_order : float
        Share of each batch trained in a random column order, in [0, 1]; the rest is trained
        in schema order, which free sampling uses. 0 disables conditioning on arbitrary
        columns (a ConfigurationError is raised when sampling under conditions).
    validation_fraction : float
        Rows held out for early stopping, in [0, 1).
    patience : int, optional
        Epochs without a better validation loss before stopping (the best weights are kept).
    grad_clip : float, optional
        Largest gradient norm per step.
    sample_temperature : float
        Divides the logits when sampling; below 1 sharpens, 0 takes the most likely token.
    top_p : float
        Nucleus sampling: draw from the smallest set of tokens whose probability reaches
        ``top_p``, in (0, 1].
    precision : {"auto", "float32"}
        ``"auto"`` trains in bfloat16 mixed precision where the hardware computes bfloat16
        natively (CUDA, and CPUs with AVX512-BF16 or AMX: several times faster matrix
        products), float32 elsewhere; the output heads and the optimiser stay in float32.
        ``"float32"`` always trains in float32. Sampling is float32 either way.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
    random_state : int, optional
        Seed for fitting and sampling.
    verbose : bool
        Progress bars with the live loss.

    Attributes
    ----------
    size_ : str
        The preset used.
    history_ : list of dict
        Per-epoch ``loss`` (mean negative log-likelihood per row), ``val_loss`` and ``time``.
    n_epochs_ : int
        Epochs run.

    Examples
    --------
    >>> import synthgen as sg
    >>> df = sg.datasets.load_adult().head(200)
    >>> model = TabularTransformer(epochs=1, random_state=0).fit(df)
    >>> model.size_
    'small'
    >>> model.sample(5, random_state=1).shape
    (5, 15)
    >>> rows = model.sample(4, conditions={"sex": "Female"}, random_state=1)
    >>> rows["sex"].tolist()
    ['Female', 'Female', 'Female', 'Female']
    >>> model.log_prob(df.head(3)).shape
    (3,)
    """

    encoder_params: ClassVar[dict[str, Any]] = {"numeric": "quantile", "discrete": "index"}
    _supports_conditioning: ClassVar[bool] = True

    def __init__(
        self,
        *,
        size: str = "auto",
        d_model: int | None = None,
        n_layers: int | None = None,
        n_heads: int | None = None,
        n_bins: int = 32,
        n_sub_bins: int = 32,
        epochs: int = 20,
        max_time: float | None = 600.0,
        batch_size: int = 512,
        learning_rate: float = 3e-3,
        weight_decay: float = 0.01,
        token_dropout: float = 0.05,
        random_order: float = 0.5,
        validation_fraction: float = 0.1,
        patience: int | None = 5,
        grad_clip: float | None = 1.0,
        sample_temperature: float = 1.0,
        top_p: float = 1.0,
        precision: str = "auto",
        device: str = "auto",
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.size = size
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.n_bins = n_bins
        self.n_sub_bins = n_sub_bins
        self.epochs = epochs
        self.max_time = max_time
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.token_dropout = token_dropout
        self.random_order = random_order
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.grad_clip = grad_clip
        self.sample_temperature = sample_temperature
        self.top_p = top_p
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
            "d_model": 16,
            "n_layers": 1,
            "n_heads": 2,
            "n_bins": 8,
            "n_sub_bins": 8,
            "device": "cpu",
        }

    # -- validation ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_training_params(self)
        if self.size not in ("auto", *SIZE_PRESETS):
            raise ConfigurationError(
                f"size must be 'auto', 'small', 'medium' or 'large', got {self.size!r}"
            )
        for name in ("d_model", "n_layers", "n_heads"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigurationError(
                    f"{name} must be a positive integer or None, got {value!r}"
                )
        for name in ("n_bins", "n_sub_bins"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")
        _check_range("weight_decay", self.weight_decay, 0.0, math.inf)
        _check_range("token_dropout", self.token_dropout, 0.0, 1.0, high_open=True)
        _check_range("random_order", self.random_order, 0.0, 1.0)
        _check_range("validation_fraction", self.validation_fraction, 0.0, 1.0, high_open=True)
        _check_range("sample_temperature", self.sample_temperature, 0.0, math.inf)
        _check_range("top_p", self.top_p, 0.0, 1.0, low_open=True)
        if self.patience is not None:
            if (
                isinstance(self.patience, bool)
                or not isinstance(self.patience, int)
                or (self.patience < 1)
            ):
                raise ConfigurationError(
                    f"patience must be a positive integer or None, got {self.patience!r}"
                )
            if self.validation_fraction == 0:
                raise ConfigurationError("patience needs validation_fraction > 0")

    def _architecture(self, n_rows: int) -> dict[str, int]:
        size = choose_size(n_rows) if self.size == "auto" else self.size
        arch = dict(SIZE_PRESETS[size])
        for name in ("d_model", "n_layers", "n_heads"):
            if getattr(self, name) is not None:
                arch[name] = getattr(self, name)
        if arch["d_model"] % arch["n_heads"]:
            raise ConfigurationError(
                f"d_model must be a multiple of n_heads, got d_model={arch['d_model']} "
                f"and n_heads={arch['n_heads']}"
            )
        return {"size": size, **arch}  # type: ignore[dict-item]

    # -- fitting -------------------------------------------------------------------------------
    def _factory(self):
        tok, arch = self.tokenizer_, self.arch_
        vocab = [c.vocab for c in tok.columns]
        fine = [tok.n_sub_bins if c.numeric else 0 for c in tok.columns]
        return lambda: TokenTransformer(
            vocab, fine, arch["d_model"], arch["n_layers"], arch["n_heads"]
        )

    def _split_tokens(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Main and fine tokens ``(n, n_columns)`` of encoded rows."""
        tok = self.tokenizer_
        tokens = tok.encode(matrix)
        main = np.stack([tokens[:, c.slot] for c in tok.columns], axis=1)
        fine = np.stack(
            [
                tokens[:, c.slot + 1] if c.numeric else np.zeros(len(tokens), np.int64)
                for c in tok.columns
            ],
            axis=1,
        )
        return main, fine

    def _join_tokens(self, main: np.ndarray, fine: np.ndarray) -> np.ndarray:
        tok = self.tokenizer_
        tokens = np.zeros((len(main), tok.n_slots), dtype=np.int64)
        for j, c in enumerate(tok.columns):
            tokens[:, c.slot] = main[:, j]
            if c.numeric:
                tokens[:, c.slot + 1] = fine[:, j]
        return tokens

    def _fit_encoded(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        arch = self._architecture(len(matrix))
        self.size_ = arch.pop("size")
        self.arch_ = arch
        self.tokenizer_ = RowTokenizer(self.encoder_, self.n_bins, self.n_sub_bins)
        self.history_: list[dict[str, float]] = []
        self.n_epochs_ = 0
        if self.tokenizer_.n_columns == 0:  # only identifiers and constants: nothing to learn
            self.net_ = None
            self.device_ = torch.device("cpu")
            return
        trainer = trainer_for(self, rng)
        device = trainer.device_
        net = build_module(self._factory(), device, None)
        net.initialize(trainer.generator_)
        n_cols = self.tokenizer_.n_columns
        task = _Task(self, net, n_cols)
        task.canonical = torch.arange(n_cols, device=device)
        n_train = len(matrix) - round(len(matrix) * self.validation_fraction)
        task.total_steps = max(1, self.epochs * math.ceil(n_train / self.batch_size))
        main, fine = self._split_tokens(matrix)
        trainer.fit(task, torch.from_numpy(np.concatenate([main, fine], axis=1)))
        self.net_ = net.eval()
        self.device_ = device
        self.history_ = trainer.history_
        self.n_epochs_ = trainer.n_epochs_

    # -- sampling ------------------------------------------------------------------------------
    def _draw_tokens(self, logits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One token per row from ``logits`` with temperature and nucleus (top-p) filtering."""
        if self.sample_temperature == 0:
            return logits.argmax(dim=-1)
        probs = torch.softmax(logits.float() / self.sample_temperature, dim=-1)
        if self.top_p < 1.0:
            sorted_p, idx = probs.sort(dim=-1, descending=True)
            # Keep a token while the mass before it is below top_p (the first always stays).
            drop = (sorted_p.cumsum(dim=-1) - sorted_p) >= self.top_p
            sorted_p = sorted_p.masked_fill(drop, 0.0)
            probs = torch.zeros_like(probs).scatter_(-1, idx, sorted_p)
        return torch.multinomial(probs, 1, generator=gen)[:, 0]

    @torch.no_grad()
    def _generate(
        self, main: np.ndarray, fine: np.ndarray, known: np.ndarray, gen: torch.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fill the columns of ``main``/``fine`` that ``known`` ``(n, n_columns)`` leaves free.

        Each row visits its known columns first (schema order among them), then the free
        ones, sampling each free column given everything visited before it.
        """
        net, dev = self.net_, self.device_
        n, n_cols = main.shape
        # Stable sort on "is free": known columns first, each group in schema order.
        order_np = np.argsort(~known, axis=1, kind="stable")
        order = torch.from_numpy(order_np).to(dev)
        main_t = torch.from_numpy(main).to(dev)
        fine_t = torch.from_numpy(fine).to(dev)
        free = torch.from_numpy(~known).to(dev)
        rows = torch.arange(n, device=dev)
        cache = net.new_cache(n)
        prev = None
        numeric = set(net.numeric_columns)
        n_bins, none = self.n_bins, self.n_sub_bins
        for i in range(n_cols):
            cols = order[:, i]
            hidden = net.step(prev, cols, cache)
            todo = free[rows, cols]
            for c in torch.unique(cols[todo]).tolist():
                sel = torch.nonzero(todo & (cols == c)).ravel()
                h = hidden[sel]
                logits = net.main_logits(h[:, None], torch.tensor([c], device=dev))[:, 0]
                tok = self._draw_tokens(logits[:, : net.vocab[c]], gen)
                main_t[sel, c] = tok
                if c in numeric:
                    coarse = tok.clamp(max=n_bins - 1)[:, None]
                    fl = net.fine_logits(h[:, None], torch.tensor([c], device=dev), coarse)[:, 0]
                    fine_tok = self._draw_tokens(fl, gen)
                    fine_t[sel, c] = torch.where(tok >= n_bins, none, fine_tok)
            prev = (cols, main_t[rows, cols], fine_t[rows, cols])
        return main_t.cpu().numpy(), fine_t.cpu().numpy()

    def _sample_tokens(
        self, main: np.ndarray, fine: np.ndarray, known: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        gen = torch_generator(rng, self.device_)
        parts = []
        for lo in range(0, len(main), _SAMPLE_CHUNK):
            sl = slice(lo, lo + _SAMPLE_CHUNK)
            m, f = self._generate(main[sl], fine[sl], known[sl], gen)
            parts.append(self._join_tokens(m, f))
        return np.concatenate(parts, axis=0)

    def _sample_encoded(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        tok = self.tokenizer_
        if self.net_ is None:
            return np.zeros((n_samples, tok.dim), dtype=np.float32)
        zeros = np.zeros((n_samples, tok.n_columns), dtype=np.int64)
        known = np.zeros((n_samples, tok.n_columns), dtype=bool)
        tokens = self._sample_tokens(zeros, zeros.copy(), known, rng)
        return tok.decode(tokens, rng)

    def _sample_encoded_given(
        self, matrix: np.ndarray, known: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        tok = self.tokenizer_
        matrix = np.asarray(matrix, dtype=np.float32)
        known = np.asarray(known, dtype=bool)
        if self.net_ is None:
            return np.where(known, matrix, 0.0).astype(np.float32)
        known_cols = tok.known_columns(known)
        if self.random_order == 0 and known_cols.any():
            raise ConfigurationError(
                "random_order=0 trains the schema order only: conditioning needs random_order > 0"
            )
        main, fine = self._split_tokens(matrix)
        tokens = self._sample_tokens(main, fine, known_cols, rng)
        out = tok.decode(tokens, rng)
        # Fixed cells are written back exactly (the tokens only locate their bin).
        return np.where(known, matrix, out).astype(np.float32)

    # -- scoring -------------------------------------------------------------------------------
    def log_prob(self, data: pd.DataFrame, *, random_state: Any = None) -> np.ndarray:
        """Log-likelihood of each row of ``data`` under the model (schema order).

        Categories contribute their log-probability; numbers and dates the log-probability of
        their bins plus the log-density of a uniform draw inside the fine bin, i.e. a density on
        each column's quantile (cumulative probability) scale. Identifiers and constants
        contribute nothing. Higher is more typical.

        Parameters
        ----------
        data : DataFrame
            Rows with the training table's columns.
        random_state : int, Generator or None
            Seed for placing tied values inside their point mass (``None``: 0).

        Returns
        -------
        numpy.ndarray
            One float per row.
        """
        self._check_fitted()
        rng = check_random_state(0 if random_state is None else random_state)
        matrix = self.encoder_.transform(data.reset_index(drop=True), random_state=rng)
        if self.net_ is None:
            return np.zeros(len(data))
        main, fine = self._split_tokens(matrix)
        net, dev = self.net_, self.device_
        n_cols = main.shape[1]
        order = torch.arange(n_cols, device=dev)
        numeric = net.const("numeric_index").cpu().numpy() >= 0
        out = []
        with torch.no_grad():
            for lo in range(0, len(main), 8192):
                m = torch.from_numpy(main[lo : lo + 8192]).to(dev)
                f = torch.from_numpy(fine[lo : lo + 8192]).to(dev)
                logits, fine_logits = net(m, f, order)
                lp = torch.log_softmax(logits, -1).gather(-1, m[:, :, None])[..., 0].sum(1)
                if fine_logits.shape[1]:
                    ft = f[:, torch.from_numpy(numeric).to(dev)]
                    has = ft < self.n_sub_bins
                    flp = torch.log_softmax(fine_logits, -1).gather(
                        -1, ft.clamp(max=self.n_sub_bins - 1)[..., None]
                    )[..., 0]
                    width = math.log(self.n_bins * self.n_sub_bins)
                    lp = lp + ((flp + width) * has).sum(1)
                out.append(lp.double().cpu().numpy())
        return np.concatenate(out)

    # -- persistence ---------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "size": self.size_,
            "arch": self.arch_,
            "n_epochs": self.n_epochs_,
            "history": self.history_,
        }
        arrays = {} if self.net_ is None else module_arrays(self.net_, "net")
        return meta, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.size_ = str(meta["size"])
        self.arch_ = {k: int(v) for k, v in meta["arch"].items()}
        self.n_epochs_ = int(meta["n_epochs"])
        self.history_ = list(meta["history"])
        self.tokenizer_ = RowTokenizer(self.encoder_, self.n_bins, self.n_sub_bins)
        self.device_ = resolve_saved_device(self.device)
        self.net_ = None
        if self.tokenizer_.n_columns:
            self.net_ = load_module(self._factory(), arrays, "net", self.device_)


def _check_range(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            high == math.inf or (value < high if high_open else value <= high)
        )
    if not ok:
        lb = "(" if low_open else "["
        rb = ")" if high_open or high == math.inf else "]"
        raise ConfigurationError(f"{name} must lie in {lb}{low}, {high}{rb}, got {value!r}")
