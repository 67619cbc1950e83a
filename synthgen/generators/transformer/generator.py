"""The autoregressive transformer generator (registry key ``"transformer"``).

Rows are generated column by column by :class:`~.model.TokenTransformer`. Training mixes the
schema's column order with random column orders, so at sampling time any subset of columns
can be fixed: they are fed first, and the free columns are generated after them (native
conditioning, imputation and rebalancing through :mod:`synthgen.sampling`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from synthgen.exceptions import ConfigurationError, PersistenceError
from synthgen.generators.neural import NeuralGenerator
from synthgen.generators.nn import build_module, load_module, module_arrays
from synthgen.generators.params import Check, Integer, Options, Real
from synthgen.generators.tags import GeneratorTags
from synthgen.generators.transformer.model import TokenTransformer
from synthgen.generators.transformer.ordering import (
    COLUMN_ORDERS,
    TokenCounts,
    is_column_list,
    restore_order,
    visiting_order,
)
from synthgen.generators.transformer.sampling import TokenSampling
from synthgen.generators.transformer.task import TransformerTask
from synthgen.generators.transformer.tokenizer import RowTokenizer
from synthgen.generators.transformer.wide import WideTransformer, columns_per_position
from synthgen.generators.transformer.wide_local import LOCAL_KINDS
from synthgen.training import LRSchedule
from synthgen.training.disk_rows import as_rows
from synthgen.training.sharding import sum_over_shards, total_rows

__all__ = ["SIZE_PRESETS", "TabularTransformer", "choose_size"]

#: Architecture of each size: width, layers, attention heads, and heads of keys and values
#: (one, shared by the four attention heads: multi-query attention; docs/transformer.md).
SIZE_PRESETS: dict[str, dict[str, int]] = {
    "small": {"d_model": 64, "n_layers": 2, "n_heads": 4, "kv_heads": 1},
    "medium": {"d_model": 96, "n_layers": 2, "n_heads": 4, "kv_heads": 1},
    "large": {"d_model": 128, "n_layers": 3, "n_heads": 4, "kv_heads": 1},
}
# Rows from which "auto" picks the medium preset. On a CPU a bigger model buys fewer epochs for
# the same time: on Adult (39k rows) the small preset beat the medium one at an equal budget.
_MEDIUM_ROWS = 100_000


def choose_size(n_rows: int) -> str:
    """The size preset ``size="auto"`` picks for a table of ``n_rows`` rows: ``"small"`` under
    100,000 rows, ``"medium"`` from there on.

    ``"auto"`` never picks ``"large"``: one epoch on a million rows (docs/scale-log.md,
    2026-12-05) gave it no better column shapes, pair trends, detection or TSTR than the
    medium preset, which fitted in half its time and sampled twice as fast; the small preset
    given the large one's time (three epochs) scored as well or better. It stays available
    by name.

    Examples
    --------
    >>> choose_size(120), choose_size(300_000), choose_size(10_000_000)
    ('small', 'medium', 'medium')
    """
    return "medium" if n_rows >= _MEDIUM_ROWS else "small"


class TabularTransformer(TokenSampling, NeuralGenerator):
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
    kv_heads : int, optional
        Heads of keys and values, shared by the attention heads in groups (grouped-query
        attention; 1 is multi-query attention); a divisor of ``n_heads``. ``None`` takes the
        preset's. Sampling reads every earlier position's keys and values at each step, so
        fewer key/value heads sample faster.
    columns_per_position : int or "auto"
        Consecutive columns (in the visiting order) that share one attention position; the
        columns of a group are told apart by a small feed-forward layer per cell
        (:class:`~.wide.WideTransformer`). 1 gives every column its own position (the most
        expressive network; its cost per row grows with the square of the column count).
        ``"auto"`` keeps 1 up to 32 columns and groups wider tables into at most 32
        positions, so fitting and sampling cost grow about linearly with the columns.
    n_bins : int
        Coarse quantile bins per number.
    n_sub_bins : int
        Fine bins inside each coarse bin.
    **params
        The settings every neural generator shares
        (:class:`~synthgen.generators.neural.NeuralGenerator`), among them ``epochs``, the
        largest number of passes over the data (early stopping on the validation rows may
        end training sooner; the learning rate decays over these epochs' steps).
    weight_decay : float
        AdamW weight decay.
    token_dropout : float
        Share of input tokens hidden during training, in [0, 1).
    column_order : {"auto", "schema"} or list of str
        The visiting order: the column order free sampling follows (and the rest of each
        batch trains in, beside the random orders). ``"auto"`` visits first the columns
        whose tokens hold the least entropy, as many as keep sampled rows sharing the
        network's work, then the others, each group in schema order (a network with
        several columns per position keeps the schema order): free sampling was about a
        fifth quicker on the benchmark tables, their quality within the spread of two
        seeds (:mod:`.ordering`, docs/benchmarks.md).
        ``"schema"`` is the table's order; a list of column names puts those first, in
        that order, and the others after them in schema order.
    random_order : float
        Share of each batch trained in a random column order, in [0, 1]; the rest is trained
        in the visiting order (``column_order``), which free sampling uses. 0 disables
        conditioning on arbitrary columns (a ConfigurationError is raised when sampling
        under conditions).
    validation_fraction : float
        Rows held out for early stopping, in [0, 1).
    patience : int, optional
        Epochs without a better validation loss before stopping (the best weights are kept).
    sample_temperature : float
        Divides the logits when sampling; below 1 sharpens, 0 takes the most likely token.
    top_p : float
        Nucleus sampling: draw from the smallest set of tokens whose probability reaches
        ``top_p``, in (0, 1].

    Attributes
    ----------
    size_ : str
        The preset used.
    history_ : list of dict
        Per-epoch ``loss`` (mean negative log-likelihood per row), ``val_loss`` and ``time``.
    n_epochs_ : int
        Epochs run.
    column_order_ : list of str
        The modelled columns in their visiting order.

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

    key = "transformer"
    tags = GeneratorTags(conditioning=True, neural=True)
    encoder_params: ClassVar[dict[str, Any]] = {"numeric": "quantile", "discrete": "index"}
    training_defaults: ClassVar[dict[str, Any]] = {
        "epochs": 20,
        "batch_size": 512,
        "learning_rate": 3e-3,
        "grad_clip": 1.0,
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "size": [Options("auto", *SIZE_PRESETS)],
        "d_model": [Integer(1), None],
        "n_layers": [Integer(1), None],
        "n_heads": [Integer(1), None],
        "kv_heads": [Integer(1), None],
        "columns_per_position": [Integer(1), Options("auto")],
        "n_bins": [Integer(1)],
        "n_sub_bins": [Integer(1)],
        "weight_decay": [Real(0)],
        "token_dropout": [Real(0, 1, open_high=True)],
        "column_order": [
            Options(*COLUMN_ORDERS),
            Check(is_column_list, "'auto', 'schema' or a list of column names", [1]),
        ],
        "random_order": [Real(0, 1)],
        "validation_fraction": [Real(0, 1, open_high=True)],
        "patience": [Integer(1), None],
        "sample_temperature": [Real(0)],
        "top_p": [Real(0, 1, open_low=True)],
    }

    def __init__(
        self,
        *,
        size: str = "auto",
        d_model: int | None = None,
        n_layers: int | None = None,
        n_heads: int | None = None,
        kv_heads: int | None = None,
        columns_per_position: int | str = "auto",
        n_bins: int = 32,
        n_sub_bins: int = 32,
        weight_decay: float = 0.01,
        token_dropout: float = 0.05,
        column_order: str | Sequence[str] = "auto",
        random_order: float = 0.5,
        validation_fraction: float = 0.1,
        patience: int | None = 5,
        sample_temperature: float = 1.0,
        top_p: float = 1.0,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.size = size
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.kv_heads = kv_heads
        self.columns_per_position = columns_per_position
        self.n_bins = n_bins
        self.n_sub_bins = n_sub_bins
        self.weight_decay = weight_decay
        self.token_dropout = token_dropout
        self.column_order = column_order
        self.random_order = random_order
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.sample_temperature = sample_temperature
        self.top_p = top_p

    @classmethod
    def _upgrade_params(cls, params: dict[str, Any], bundle: Any) -> dict[str, Any]:
        params = super()._upgrade_params(params, bundle)
        if "column_order" not in params:  # fitted before the visiting order: the schema's
            params = {**params, "column_order": "schema"}
        return params

    @classmethod
    def _fast_params(cls) -> dict[str, Any]:
        small = {"d_model": 16, "n_layers": 1, "n_heads": 2, "n_bins": 8, "n_sub_bins": 8}
        return {**super()._fast_params(), **small}

    # -- validation ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        super()._check_params()
        self._architecture(0)  # d_model must be a multiple of n_heads

    def _architecture(self, n_rows: int) -> dict[str, int]:
        size = choose_size(n_rows) if self.size == "auto" else self.size
        arch = dict(SIZE_PRESETS[size])
        for name in ("d_model", "n_layers", "n_heads", "kv_heads"):
            if getattr(self, name) is not None:
                arch[name] = getattr(self, name)
        if arch["d_model"] % arch["n_heads"]:
            raise ConfigurationError(
                f"d_model must be a multiple of n_heads, got d_model={arch['d_model']} "
                f"and n_heads={arch['n_heads']}"
            )
        if arch["n_heads"] % arch["kv_heads"]:
            raise ConfigurationError(
                f"n_heads must be a multiple of kv_heads, got n_heads={arch['n_heads']} "
                f"and kv_heads={arch['kv_heads']}"
            )
        return {"size": size, **arch}  # type: ignore[dict-item]

    #: The local layer of new wide networks (:data:`.wide_local.LOCAL_KINDS`); benchmarks
    #: set ``1`` on an instance to compare it with the layer of earlier models.
    _local_kind = 2
    #: Width of the local layer's hidden layer in new wide networks, times ``d_model``
    #: (``arch["local_ff"]``; files before it: 2). Half the states' width is a quarter of
    #: the work per cell of the width before, with the same fidelity (``bench_wide``
    #: ``--local-ff``, docs/transformer.md); benchmarks set it on an instance.
    _local_ff = 0.5

    # -- fitting -------------------------------------------------------------------------------
    def _factory(self):
        tok, arch = self.tokenizer_, self.arch_
        vocab = [c.vocab for c in tok.columns]
        fine = [tok.n_sub_bins if c.numeric else 0 for c in tok.columns]
        sizes = (vocab, fine, arch["d_model"], arch["n_layers"], arch["n_heads"])
        group = arch.get("columns_per_position", 1)  # files before it: one column each
        kv = arch.get("kv_heads")  # files before it: one per head
        local = arch.get("local", 1)  # files before the split local layer: the normed one
        # files before it: 2 x d_model (a width the saved weights do not have, or none at
        # all, is refused by load_module before anything is allocated)
        local_ff = arch.get("local_ff")
        if group > 1:
            return lambda: WideTransformer(
                *sizes, columns_per_position=group, kv_heads=kv, local=local, local_ff=local_ff
            )
        return lambda: TokenTransformer(*sizes, kv_heads=kv)

    def _train(self, matrix: np.ndarray, rng: np.random.Generator) -> None:
        arch = self._architecture(total_rows(len(matrix)))  # the table's rows, all ranks'
        self.size_ = arch.pop("size")
        self.arch_ = arch
        self.tokenizer_ = RowTokenizer(self.encoder_, self.n_bins, self.n_sub_bins)
        n_cols = self.tokenizer_.n_columns
        arch["columns_per_position"] = columns_per_position(n_cols, self.columns_per_position)
        if arch["columns_per_position"] > 1:
            arch["local"] = self._local_kind
            arch["local_ff"] = max(1, round(self._local_ff * arch["d_model"]))
        self._new_decoding()
        names = [c.column for c in self.tokenizer_.columns]
        # schema order for now (a listed name outside the table is refused before training)
        self._order = visiting_order(self.column_order, names, self.schema_.names)
        self.history_: list[dict[str, float]] = []
        self.n_epochs_ = 0
        self.stop_reason_ = "nothing_to_learn"
        if self.tokenizer_.n_columns == 0:  # only identifiers and constants: nothing to learn
            self.net_ = None
            self.device_ = torch.device("cpu")
            return
        # Short warm-up, then a cosine decay over the planned steps, so the last updates are
        # small (an early stop leaves the rate where the plan had it).
        schedule = LRSchedule(decay="cosine", warmup_steps=20, final_fraction=0.05)
        trainer = self.make_trainer(rng, callbacks=[schedule])
        device = trainer.device_
        net = build_module(self._factory(), device, None)
        net.initialize(trainer.generator_)
        task = TransformerTask(self, net, n_cols)
        # Held as int16 (int32 for a vocabulary past 32,767), widened to int64 a batch at a
        # time: ten million rows of 20 columns are 0.8 GB of tokens instead of 3.2.
        counting = self.column_order == "auto" and arch["columns_per_position"] == 1
        counts = TokenCounts.of(self.tokenizer_) if counting else None
        tokens = self._training_tokens(matrix, counts=counts)
        if counts is not None:
            counts.counts = sum_over_shards(counts.counts)  # every rank: the same order
            self._order = visiting_order("auto", names, self.schema_.names, counts)
        task.canonical = torch.from_numpy(self._order).to(device)
        trainer.fit(task, as_rows(tokens), expand=lambda batch: batch.long())
        self.net_ = net.eval()
        self._record_training(trainer)

    # -- persistence ---------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {**self._training_meta(), "size": self.size_, "arch": self.arch_}
        meta.update(self._decoding_meta())
        if self._order is not None:
            meta["column_order"] = [int(i) for i in self._order]
        arrays = {} if self.net_ is None else module_arrays(self.net_, "net")
        return meta, arrays

    def set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._restore_training_meta(meta)
        self.size_ = str(meta["size"])
        arch = meta.get("arch")
        # Whole numbers only: int() would read a hostile 2.5 as 2 and "x" as a ValueError.
        if not isinstance(arch, dict) or any(type(v) is not int for v in arch.values()):
            raise PersistenceError(
                f"invalid transformer arch in the model file: {arch!r} (integers expected)"
            )
        self.arch_ = dict(arch)
        self._restore_decoding(meta)
        heads = self.arch_.get("n_heads", 0)
        kv = self.arch_.get("kv_heads", heads)
        if not 1 <= kv <= heads or heads % kv or self.arch_.get("d_model", 0) % heads:
            raise PersistenceError(
                f"invalid transformer heads in the model file: d_model "
                f"{self.arch_.get('d_model')}, n_heads {heads}, kv_heads {kv}"
            )
        self.tokenizer_ = RowTokenizer(self.encoder_, self.n_bins, self.n_sub_bins)
        self._order = restore_order(meta.get("column_order"), self.tokenizer_.n_columns)
        group = self.arch_.get("columns_per_position", 1)
        widest = max(self.tokenizer_.n_columns, 1)
        if not 1 <= group <= widest or (group > 1 and self.decoder_ != "lanes"):
            raise PersistenceError(
                f"invalid transformer columns_per_position {group} in the model file "
                f"({self.tokenizer_.n_columns} columns, decoder {self.decoder_!r})"
            )
        if self.arch_.get("local", 1) not in LOCAL_KINDS:
            raise PersistenceError(
                f"unknown transformer local layer {self.arch_['local']} in the model file"
            )
        self.net_ = None
        if self.tokenizer_.n_columns:
            self.net_ = load_module(self._factory(), arrays, "net", self.device_)
