"""The transformer for wide tables: several columns per attention position."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F  # noqa: N812
from torch.overrides import TorchFunctionMode

import synthgen as sg
from synthgen.exceptions import ConfigurationError
from synthgen.generators.transformer import TabularTransformer, TokenTransformer, wide_local
from synthgen.generators.transformer.task import TransformerTask
from synthgen.generators.transformer.wide import WideTransformer, columns_per_position
from synthgen.generators.transformer.wide_local import NormedLocal, SplitLocal
from synthgen.testing.model_files import rewrite_manifest

FAST = {"max_time": None, "d_model": 16, "n_layers": 1, "n_heads": 2, "device": "cpu"}
VOCAB, FINE = [3, 5, 4, 2, 6, 3, 2], [0, 6, 0, 6, 0, 0, 6]


pytestmark = pytest.mark.usefixtures("one_thread_per_module")


def _net(group: int, local: int = 2) -> tuple[WideTransformer, torch.Tensor, torch.Tensor]:
    """A wide network whose biases and layer norms are random (as after training); the split
    layer as narrow as new models make it, the normed one as wide as it was."""
    gen = torch.Generator().manual_seed(group)
    width = 8 if local == 2 else None
    net = WideTransformer(
        VOCAB, FINE, 16, 2, 2, columns_per_position=group, local=local, local_ff=width
    )
    net.initialize(gen)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("bias") or "ln" in name:
                p.add_(0.5 * torch.randn(p.shape, generator=gen))
    main = torch.stack([torch.randint(0, v, (6,), generator=gen) for v in VOCAB], 1)
    fine = torch.randint(0, 6, (6, len(VOCAB)), generator=gen)
    return net.eval(), main, fine


def _decode(net, main, fine, orders, dtype=torch.float32, shared=False):
    """Hidden states of a decode over rows that visit their columns in ``orders`` (n, C);
    ``shared``: every row in ``orders[0]``, the earlier column given as one ``int`` (as
    sampling does then)."""
    cache = net.new_cache(len(main), dtype=dtype)
    net.begin(cache, orders)
    assert cache.shared is not None or not shared
    rows, prev, out = torch.arange(len(main)), None, []
    for i in range(orders.shape[1]):
        cols = orders[:, i]
        out.append(net.step(prev, cols, cache))
        c = int(cols[0])
        prev = (c, main[:, c], fine[:, c]) if shared else (cols, main[rows, cols], fine[rows, cols])
    return torch.stack(out, 1)


@pytest.mark.parametrize("local", ["normed", "split", "split without tables"])
@pytest.mark.parametrize("group", [2, 3])
def test_decoding_equals_the_full_forward_in_any_order_per_row(group, local, monkeypatch):
    """Step-by-step decoding (groups of 2 or 3 of 7 columns: a short last group), each row in
    its own order as under per-row conditions, and every row in one order (the shared
    path), gives the hidden states of the whole-row network, with either local layer; the
    split layer's cells through their tables or, past the tables' size, through ``fc1``."""
    if local == "split without tables":
        monkeypatch.setattr(wide_local, "TABLE_FLOATS", 0)
    net, main, fine = _net(group, 1 if local == "normed" else 2)
    assert isinstance(net.local, NormedLocal if local == "normed" else SplitLocal)
    cache = net.new_cache(len(main))
    assert (getattr(cache.local, "token", None) is None) == (local != "split")
    gen = torch.Generator().manual_seed(9)
    orders = torch.stack([torch.randperm(len(VOCAB), generator=gen) for _ in range(len(main))])
    with torch.no_grad():
        for rows_orders in (orders, orders[:1].expand(len(main), -1)):
            got = _decode(net, main, fine, rows_orders, shared=rows_orders is not orders)
            for r in range(len(main)):
                full = net.hidden(main[r : r + 1], fine[r : r + 1], rows_orders[r])
                torch.testing.assert_close(got[r], full[0], atol=1e-5, rtol=1e-5)


def test_the_split_layer_normalises_the_group_state_only():
    """``top + rest + fc2(gelu(fc1(ln(top)) + fc1(rest)))``: scaling the cells' part does
    not pass through a layer norm."""
    layer = SplitLocal(8, 16)
    with torch.no_grad():
        layer.ln.bias.normal_()
        top, rest = torch.randn(4, 1, 8), torch.randn(4, 3, 8)
        want = top + rest + layer.fc2(F.gelu(layer.fc1(rest) + layer.ln(top) @ layer.fc1.weight.T))
        torch.testing.assert_close(layer(top, rest), want)
        normed = NormedLocal(8, 16)
        normed.load_state_dict(layer.state_dict())  # the same weights' names
        assert not torch.allclose(normed(top + rest), layer(top, rest))
    with pytest.raises(ValueError, match="local layer 3"):
        wide_local.local_layer(3, 8, 16)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_decoding_equals_the_full_forward_for_any_grouping(data):
    """Any column count and grouping (a group as wide as the row, a last group of one),
    numbers and categories mixed, rows in orders of their own."""
    n_cols = data.draw(st.integers(2, 9), label="columns")
    group = data.draw(st.integers(2, n_cols), label="columns_per_position")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    gen = torch.Generator().manual_seed(seed)
    vocab = torch.randint(2, 7, (n_cols,), generator=gen).tolist()
    fine_vocab = [5 if torch.rand(1, generator=gen).item() < 0.5 else 0 for _ in vocab]
    net = WideTransformer(vocab, fine_vocab, 8, 1, 2, columns_per_position=group)
    net.initialize(gen)
    net.eval()
    main = torch.stack([torch.randint(0, v, (4,), generator=gen) for v in vocab], 1)
    fine = torch.randint(0, 5, (4, n_cols), generator=gen)
    orders = torch.stack([torch.randperm(n_cols, generator=gen) for _ in range(4)])
    with torch.no_grad():
        got = _decode(net, main, fine, orders)
        for r in range(4):
            full = net.hidden(main[r : r + 1], fine[r : r + 1], orders[r])
            torch.testing.assert_close(got[r], full[0], atol=1e-5, rtol=1e-5)


def test_bfloat16_decoding_follows_the_autocast_network():
    net, main, fine = _net(3)
    order = torch.tensor([4, 1, 6, 0, 2, 5, 3])
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            full = net.hidden(main, fine, order).float()
        got = _decode(net, main, fine, order.expand(len(main), -1), torch.bfloat16)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, full, atol=0.03, rtol=0.01)


def test_a_cell_sees_earlier_cells_of_its_group_and_nothing_later():
    net, main, fine = _net(3)
    order = torch.arange(len(VOCAB))
    with torch.no_grad():
        base = net.hidden(main, fine, order)
        changed = main.clone()
        changed[:, 3] = (changed[:, 3] + 1) % VOCAB[3]  # first cell of the second group
        after = net.hidden(changed, fine, order)
    torch.testing.assert_close(after[:, :4], base[:, :4])  # itself and everything before
    assert not torch.allclose(after[:, 4], base[:, 4])  # the next cell of its group
    assert not torch.allclose(after[:, 6], base[:, 6])  # and the group after


def test_the_positions_are_groups_of_columns():
    assert [columns_per_position(c) for c in (1, 32, 33, 64, 200, 1000)] == [1, 1, 2, 2, 7, 32]
    assert WideTransformer(VOCAB, FINE, 16, 1, 2, columns_per_position=3).n_positions == 3
    assert TokenTransformer(VOCAB, FINE, 16, 1, 2).n_positions == len(VOCAB)
    with pytest.raises(ValueError, match="at least 2"):
        WideTransformer(VOCAB, FINE, 16, 1, 2, columns_per_position=1)


# -- the generator -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy(toy):
    """The generator tests' ``toy`` table (``b`` copies ``a``, ``x`` follows ``a``) plus a
    noise column ``n``: four columns, two positions of two."""
    noise = np.random.default_rng(1).choice(list("uvw"), len(toy))
    return toy.assign(n=noise)


@pytest.fixture(scope="module")
def wide_model(toy):
    """Two columns per position: ``a`` and ``b`` share one (the local layer links them),
    ``x`` reads them from the position before."""
    params = {**FAST, "epochs": 40, "batch_size": 100, "learning_rate": 2e-2}
    model = TabularTransformer(
        **params, columns_per_position=2, validation_fraction=0.0, patience=None, random_state=0
    )
    return model.fit(toy)


def test_a_grouped_model_learns_within_and_across_groups(wide_model):
    assert isinstance(wide_model.net_, WideTransformer)
    assert wide_model.arch_["columns_per_position"] == 2
    free = wide_model.sample(400, random_state=0)
    assert (free["a"] == free["b"]).mean() > 0.75  # inside a group
    assert (
        free.loc[free["a"] == "hi", "x"].median() > 50 > free.loc[free["a"] == "lo", "x"].median()
    )
    hi = wide_model.sample(200, conditions={"a": "hi"}, random_state=1)
    assert (hi["a"] == "hi").all() and (hi["b"] == "hi").mean() > 0.7
    big = wide_model.sample(200, conditions={"x": 100.0}, random_state=2)  # a later column
    assert (big["x"] == 100.0).all() and (big["a"] == "hi").mean() > 0.7
    lp = wide_model.log_prob(free.head(20))
    assert lp.shape == (20,) and np.isfinite(lp).all()


class _GradientTrainer:
    """What a training step reads of its Trainer; keeps the gradient it would apply."""

    def __init__(self, dtype: torch.dtype | None = None) -> None:
        self.generator_ = torch.Generator().manual_seed(3)
        self.grads: list[torch.Tensor] = []
        self.dtype = dtype

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast("cpu", dtype=self.dtype)

    def optimize(self, loss, optimizer):
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.apply_gradients(optimizer)

    def apply_gradients(self, optimizer):
        self.grads = [p.grad.clone() for g in optimizer.param_groups for p in g["params"]]


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_a_batch_backpropagated_in_parts_has_the_gradient_of_one_pass(
    wide_model, toy, monkeypatch, dropout
):
    """A batch whose activation passes twice ``BACKWARD_BYTES`` (here: any) goes through the
    network in parts of 16 rows: the summed gradient and the loss are one pass's (up to
    float rounding), with the same column orders and hidden tokens drawn."""
    from synthgen.generators.transformer import task

    monkeypatch.setattr(wide_model, "token_dropout", dropout)
    matrix = wide_model.encoder_.transform(toy.head(100), random_state=0)
    batch = torch.from_numpy(wide_model._training_tokens(matrix)).long()
    n_cols = wide_model.tokenizer_.n_columns
    results = []
    for size in (task.BACKWARD_BYTES, 1):
        monkeypatch.setattr(task, "BACKWARD_BYTES", size)
        step = task.TransformerTask(wide_model, wide_model.net_.train(), n_cols)
        step.canonical = torch.arange(n_cols)
        trainer = _GradientTrainer()
        out = step.training_step(batch, trainer)
        results.append((float(out["loss"].detach()), trainer.grads, step.backward_rows(100)))
    wide_model.net_.eval()
    (loss, grads, rows), (parted_loss, parted_grads, parted_rows) = results
    assert (rows, parted_rows) == (100, 16)
    assert parted_loss == pytest.approx(loss, rel=1e-6)
    for g, h in zip(grads, parted_grads, strict=True):
        torch.testing.assert_close(h, g, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("net", "rows"),
    [
        (TokenTransformer([2] * 15, [0] * 15, 64, 1, 2), 1092),
        (WideTransformer([2] * 100, [0] * 100, 64, 1, 2, columns_per_position=4), 163),
        (WideTransformer([2] * 1000, [0] * 1000, 64, 1, 2, columns_per_position=32), 64),
        (TokenTransformer([2] * 3, [0] * 3, 16, 1, 2), 8192),
    ],
    ids=["15 columns", "100 in 25 positions", "1,000 in 32 positions", "3 narrow columns"],
)
def test_rows_scored_at_once_keep_the_activation_cache_sized(net, rows):
    """About 2**20 floats a chunk (rows x cells, padding included, x width), between 64 and
    8,192 rows: the old 262,144 cells a chunk (16M floats at width 64) was 2 to 2.6x slower
    per row."""
    cells = net.n_positions * getattr(net, "columns_per_position", 1)
    assert net.scoring_rows == rows
    assert rows * cells * net.d_model <= 2**20 or rows == 64
    assert (rows + 1) * cells * net.d_model > 2**20 or rows == 8192


@pytest.mark.parametrize(
    ("columns", "group", "itemsize", "rows"),
    [
        (100, 4, 4, 512),
        (500, 16, 4, 128),
        (1000, 32, 4, 64),
        (500, 16, 2, 512),
        (1000, 32, 2, 128),
    ],
    ids=["100 columns", "500 columns", "1,000 columns", "500 in bfloat16", "1,000 in bfloat16"],
)
def test_a_default_batch_backpropagates_in_one_pass_or_in_parts_of_16_mb(
    columns, group, itemsize, rows
):
    """At the default 512 rows and width 64: one pass while the activation stays within twice
    16 MB in the fit's precision (256 cells a row in float32, 512 in bfloat16), else parts of
    at most 16 MB (at 1,000 columns 64 rows of float32 took about an eighth less time per row
    than 128 on a CPU without native bfloat16; 128 of bfloat16 about 5% less than 86 on one
    with it)."""
    net = WideTransformer([2] * columns, [0] * columns, 64, 1, 2, columns_per_position=group)
    step = TransformerTask(_Settings(), net, columns)
    assert step.backward_rows(512, itemsize) == rows
    assert rows * net.row_floats * itemsize <= 16 * 2**20 or rows == 512


def test_a_training_step_sizes_its_parts_in_the_precision_it_computes_in(
    wide_model, toy, monkeypatch
):
    """Under bfloat16 autocast a part holds twice the rows of a float32 one: the limit is
    in bytes of the activations as computed."""
    from synthgen.generators.transformer import task

    matrix = wide_model.encoder_.transform(toy.head(128), random_state=0)
    batch = torch.from_numpy(wide_model._training_tokens(matrix)).long()
    n_cols = wide_model.tokenizer_.n_columns
    # 16 rows of float32 activations a part
    monkeypatch.setattr(task, "BACKWARD_BYTES", 16 * wide_model.net_.row_floats * 4)
    seen = {}
    for dtype in (None, torch.bfloat16):
        step = task.TransformerTask(wide_model, wide_model.net_.train(), n_cols)
        step.canonical = torch.arange(n_cols)
        parts, loss = [], step.loss

        def counted(main, *args, parts=parts, loss=loss):
            parts.append(len(main))
            return loss(main, *args)

        monkeypatch.setattr(step, "loss", counted)
        step.training_step(batch, _GradientTrainer(dtype))
        seen[dtype] = parts
    wide_model.net_.eval()
    assert seen == {None: [16] * 8, torch.bfloat16: [32] * 4}


def test_log_prob_and_the_validation_loss_do_not_depend_on_the_chunks(wide_model, toy, monkeypatch):
    from synthgen.generators.transformer import task

    net = wide_model.net_
    data = torch.from_numpy(
        wide_model._training_tokens(wide_model.encoder_.transform(toy, random_state=0))
    ).long()
    step = task.TransformerTask(wide_model, net, wide_model.tokenizer_.n_columns)
    step.canonical = torch.arange(wide_model.tokenizer_.n_columns)
    with torch.no_grad():  # as the trainer scores it
        whole = (wide_model.log_prob(toy), step.validation_loss(data, None))
        monkeypatch.setattr(type(net), "scoring_rows", property(lambda self: 7))
        np.testing.assert_allclose(wide_model.log_prob(toy), whole[0], rtol=1e-5)
        assert step.validation_loss(data, None) == pytest.approx(whole[1], rel=1e-5)


def test_narrow_tables_keep_one_column_per_position(toy):
    model = TabularTransformer(**FAST, epochs=1, random_state=0).fit(toy)
    assert model.arch_["columns_per_position"] == 1
    assert type(model.net_) is TokenTransformer


def test_a_reused_cache_and_the_shared_path_draw_the_same_rows(wide_model, monkeypatch):
    """The group state is reset for every chunk (64-row chunks sharing one cache draw what a
    fresh cache per chunk draws), and steps where every row visits one column draw what the
    per-row path draws."""
    import synthgen.generators.transformer.sampling as sampling

    free = wide_model.sample(150, random_state=5)
    given = wide_model.sample(150, conditions={"x": 3.0}, random_state=6)
    monkeypatch.setattr(
        TabularTransformer, "_shared_steps", staticmethod(lambda order, known: [False] * 9)
    )
    pd.testing.assert_frame_equal(wide_model.sample(150, random_state=5), free)
    pd.testing.assert_frame_equal(
        wide_model.sample(150, conditions={"x": 3.0}, random_state=6), given
    )
    monkeypatch.undo()
    monkeypatch.setattr(sampling, "_CACHE_BYTES", 1)  # 64 rows per chunk
    shared = wide_model.sample(150, random_state=5)
    new_cache, made = WideTransformer.new_cache, []

    def fresh(self, n, **kw):
        made.append(n)
        cache = new_cache(self, n, **kw)
        cache.n_rows = -1  # never matches: a new cache for every chunk
        return cache

    monkeypatch.setattr(WideTransformer, "new_cache", fresh)
    pd.testing.assert_frame_equal(wide_model.sample(150, random_state=5), shared)
    assert made == [64, 64, 22]


def test_fewer_positions_give_bigger_chunks(wide_model, monkeypatch):
    import synthgen.generators.transformer.sampling as sampling

    net = wide_model.net_
    per_row = 2 * net.n_layers * net.n_positions * net.cache_width * 4
    monkeypatch.setattr(sampling, "_CACHE_BYTES", 100 * per_row)
    assert wide_model._chunk_rows() == 100
    assert net.n_positions == 2 < len(net.vocab)


def _rewrite_state(path, out, change):
    """``path`` copied to ``out`` with ``change`` applied to its generator state."""
    rewrite_manifest(path, out, lambda manifest: change(manifest["state"]))


# (torch warns while building the zero-width layer on the meta device)
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_save_load_draws_the_same_rows_and_bad_groupings_are_refused(wide_model, tmp_path):
    path = tmp_path / "m.sgm"
    wide_model.save(path)
    loaded = sg.load(path)
    assert isinstance(loaded.net_, WideTransformer)
    pd.testing.assert_frame_equal(
        loaded.sample(100, random_state=3), wide_model.sample(100, random_state=3)
    )

    def arch(value):
        return lambda state: state["arch"].update(columns_per_position=value)

    for i, change in enumerate(
        [
            arch(0),
            arch(5),
            arch(-1),
            arch(2.5),
            arch("2"),
            arch(True),
            lambda s: (arch(2)(s), s.update(decoder="heads")),
        ]
    ):
        odd = tmp_path / f"odd{i}.sgm"
        _rewrite_state(path, odd, change)
        with pytest.raises(sg.PersistenceError, match="columns_per_position"):
            sg.load(odd)
    odd = tmp_path / "odd_local.sgm"
    _rewrite_state(path, odd, lambda state: state["arch"].update(local=3))
    with pytest.raises(sg.PersistenceError, match="local layer 3"):
        sg.load(odd)
    # a local layer width the saved weights do not have (2.5 and "8": "integers expected")
    for i, (width, error) in enumerate(
        [(5, "local.fc1"), (0, "local.fc1"), (10**9, "local.fc1"), (-4, "no valid")]
    ):
        odd = tmp_path / f"odd_width{i}.sgm"
        _rewrite_state(path, odd, lambda state, w=width: state["arch"].update(local_ff=w))
        with pytest.raises(sg.PersistenceError, match=error):
            sg.load(odd)
    odd = tmp_path / "odd_arch.sgm"
    _rewrite_state(path, odd, lambda state: state.update(arch=[64, 2]))
    with pytest.raises(sg.PersistenceError, match="arch"):
        sg.load(odd)


def test_new_models_use_the_split_layer_and_files_before_it_the_normed_one(
    wide_model, toy, tmp_path
):
    """A file without ``arch["local"]`` was written before the split layer: its network is
    built with the normed layer (the same weights' names), so it draws what it always drew."""
    assert wide_model.arch_["local"] == 2 and isinstance(wide_model.net_.local, SplitLocal)
    # and its hidden layer half as wide as the states (twice before: four times the work)
    width = wide_model.arch_["local_ff"]
    assert width == wide_model.arch_["d_model"] // 2 == wide_model.net_.local.fc1.out_features
    path, old = tmp_path / "m.sgm", tmp_path / "old.sgm"
    wide_model.save(path)
    _rewrite_state(path, old, lambda state: state["arch"].pop("local"))
    loaded = sg.load(old)
    assert isinstance(loaded.net_.local, NormedLocal)
    assert loaded.net_.local.fc1.weight.equal(wide_model.net_.local.fc1.weight)
    # (the same weights through the other layer: other likelihoods)
    assert not np.allclose(loaded.log_prob(toy[:50]), wide_model.log_prob(toy[:50]))


def test_a_wide_model_saved_before_the_split_layer_draws_the_rows_it_drew():
    """``tests/fixtures/wide_normed`` was written by c54b318 (its script says how): a file
    without ``arch.local`` and the five rows it drew right after the fit."""
    folder = Path(__file__).resolve().parents[2] / "fixtures" / "wide_normed"
    model = sg.load(folder / "transformer.sgm")
    assert "local" not in model.arch_ and isinstance(model.net_.local, NormedLocal)
    # nor a local layer width: the layer is twice d_model wide, as then
    assert "local_ff" not in model.arch_
    assert model.net_.local.fc1.out_features == 2 * model.arch_["d_model"]
    expected = pd.read_csv(folder / "transformer.csv")
    # Floats went through CSV text: equal up to the last digits, labels exactly.
    pd.testing.assert_frame_equal(
        model.sample(5, random_state=7), expected, check_exact=False, rtol=1e-9, atol=0.0
    )


@pytest.mark.parametrize("value", [0, "wide", 1.5])
def test_bad_columns_per_position_is_refused(value, toy):
    model = TabularTransformer(**FAST, epochs=1, columns_per_position=value)
    with pytest.raises(ConfigurationError, match="columns_per_position"):
        model.fit(toy)


class _Settings:
    """What a :class:`~.task.TransformerTask` reads of its model."""

    n_sub_bins, token_dropout, random_order = 6, 0.0, 0.0
    learning_rate, weight_decay = 1e-3, 0.0


def _loss(net, main, fine, order, fast):
    """The training loss of the rows, from padded states normed once (``fast``, as
    :class:`~.task.TransformerTask` runs it) or from the plain states."""
    if fast:
        x = net.final_norm(net.hidden(main, fine, order, padded=True))
    else:
        x = net.hidden(main, fine, order)
    nll = net.main_nll(x, order, main[:, order], normed=fast).sum()
    cols = order[net.const("numeric_index")[order] >= 0]
    logits = net.visited_fine_logits(x, order, main, normed=fast)
    return nll + F.cross_entropy(logits.flatten(0, 1), fine[:, cols].flatten(), reduction="sum")


def _same_gradients(net, *losses) -> list[dict]:
    """Every parameter's gradient of each loss (a function of nothing), asserted equal
    across them up to float rounding; returns them."""
    grads = []
    for loss in losses:
        net.zero_grad(set_to_none=True)
        loss().backward()
        grads.append({k: p.grad.clone() for k, p in net.named_parameters() if p.grad is not None})
    for other in grads[1:]:
        assert other.keys() == grads[0].keys()
        for name, grad in other.items():
            torch.testing.assert_close(grad, grads[0][name], atol=1e-5, rtol=1e-4)
    return grads


@pytest.mark.parametrize("group", [2, 3, 5])
def test_padded_states_give_the_loss_and_gradients_of_the_plain_ones(group):
    net, main, fine = _net(group)
    main[:, 0] = main[:, 0].clamp(min=1)  # token row 0 (column 0's first label) never seen
    order = torch.tensor([6, 2, 0, 5, 1, 4, 3])
    padded = net.hidden(main, fine, order, padded=True)
    assert padded.shape[1] == net.n_positions * group >= len(VOCAB)
    torch.testing.assert_close(padded[:, : len(VOCAB)], net.hidden(main, fine, order))
    fast, plain = (lambda f=f: _loss(net, main, fine, order, f) for f in (True, False))
    grads = _same_gradients(net, fast, plain)
    # the padding's cells look up token row 0 and reach nothing: no gradient comes back
    assert torch.count_nonzero(grads[0]["token.weight"][0]) == 0


@pytest.mark.parametrize(("group", "local"), [(2, 2), (3, 2), (5, 2), (3, 1)])
def test_the_training_loss_is_every_cell_s_likelihood_under_its_decoded_state(group, local):
    """The training step reads the cells' states a column at a time (``column_hidden``):
    its loss is the sum over every cell of the cross-entropy of the heads (computed here a
    row at a time) under the states that step-by-step decoding gives, and its gradients
    are those of the row-major states read by plain indexing."""

    net, main, fine = _net(group, local)
    task = TransformerTask(_Settings(), net, len(VOCAB))
    order = torch.tensor([6, 2, 0, 5, 1, 4, 3])
    pos = torch.nonzero(net.const("numeric_index")[order] >= 0).ravel()
    cols = order[pos]
    with torch.no_grad():
        states = _decode(net, main, fine, order.expand(len(main), -1))
        logits = net.main_logits(states, order)
        want = F.cross_entropy(logits.flatten(0, 1), main[:, order].flatten(), reduction="sum")
        fine_logits = net.fine_logits(states[:, pos], cols, main[:, cols])
        want += F.cross_entropy(fine_logits.flatten(0, 1), fine[:, cols].flatten(), reduction="sum")
        torch.testing.assert_close(task.loss(main, fine, order), want, atol=1e-3, rtol=1e-5)
    _same_gradients(
        net, lambda: task.loss(main, fine, order), lambda: _loss(net, main, fine, order, False)
    )


class _Products(TorchFunctionMode):
    """Records the dtype of every batched product (the heads' ``baddbmm``) called."""

    def __init__(self) -> None:
        super().__init__()
        self.dtypes: list[torch.dtype] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func is torch.baddbmm:
            self.dtypes.append(out.dtype)
        return out


def test_under_autocast_the_heads_train_in_bfloat16_close_to_float32():
    """A fit under bfloat16 autocast runs the heads' products in bfloat16 (in float32 they
    were two fifths of a 1,000-column step): the main and fine heads' products are
    bfloat16, and the loss and its gradient stay those of float32 within its rounding."""
    net, main, fine = _net(3)
    task = TransformerTask(_Settings(), net, len(VOCAB))
    order = torch.tensor([6, 2, 0, 5, 1, 4, 3])
    losses, grads = [], []
    for half in (False, True):
        net.zero_grad(set_to_none=True)
        products = _Products()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=half), products:
            loss = task.loss(main, fine, order)
        loss.backward()
        losses.append(float(loss.detach()))
        grads.append(torch.cat([p.grad.ravel() for p in net.parameters() if p.grad is not None]))
        # the main heads (one product) and the fine heads (two)
        assert products.dtypes == [torch.bfloat16 if half else torch.float32] * 3
    assert losses[1] == pytest.approx(losses[0], rel=2e-2)
    assert F.cosine_similarity(grads[0], grads[1], dim=0) > 0.99


def _graph_nodes(loss: torch.Tensor) -> set[str]:
    """The names of every node of ``loss``'s autograd graph."""
    seen, todo, names = set(), [loss.grad_fn], set()
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(type(node).__name__)
        todo.extend(next_node for next_node, _ in node.next_functions)
    return names


@pytest.mark.parametrize("half", [False, True], ids=["float32", "bfloat16"])
def test_the_wide_training_graph_updates_no_view_in_place(half):
    """No in-place sum into a view of the cells' states: autograd would zero and copy a
    tensor as large as the cells in the backward pass (``CopySlices``)."""
    net, main, fine = _net(3)
    task = TransformerTask(_Settings(), net.train(), len(VOCAB))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=half):
        names = _graph_nodes(task.loss(main, fine, torch.tensor([6, 2, 0, 5, 1, 4, 3])))
    assert "CopySlices" not in names and "BmmBackward0" in names


@pytest.mark.parametrize("g", [2, 3, 6])
def test_each_cell_gets_the_sum_of_the_cells_before_it_in_its_group(g):
    cells = torch.randn(3, g, 4, 5)  # positions, a group's cells, rows, width
    expected = cells.cumsum(1) - cells
    torch.testing.assert_close(WideTransformer._before(cells), expected)
