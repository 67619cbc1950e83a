"""The transformer generator: tokenizer, network, conditioning, scoring, parameters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from synthgen.exceptions import ConfigurationError
from synthgen.generators.transformer import (
    SIZE_PRESETS,
    RowTokenizer,
    TabularTransformer,
    TokenTransformer,
    choose_size,
)
from synthgen.generators.transformer.blocks import _attention
from synthgen.generators.transformer.decoding import lane_attention
from synthgen.schema import Schema
from synthgen.testing import make_mixed_table
from synthgen.testing.model_files import rewrite_manifest
from synthgen.transforms import TableEncoder

FAST = {"max_time": None, "d_model": 16, "n_layers": 1, "n_heads": 2, "device": "cpu"}


pytestmark = pytest.mark.usefixtures("one_thread_per_module")


@pytest.fixture(scope="module")
def mixed():
    return make_mixed_table(120)


@pytest.fixture(scope="module")
def toy_model(toy):
    params = {**FAST, "epochs": 40, "batch_size": 100, "learning_rate": 2e-2}
    return TabularTransformer(**params, validation_fraction=0.0, patience=None, random_state=0).fit(
        toy
    )


# -- tokenizer ---------------------------------------------------------------------------------
def test_tokenizer_round_trip(mixed):
    schema = Schema.infer(mixed)
    enc = TableEncoder("quantile", "index").fit(mixed, schema, random_state=0)
    matrix = enc.transform(mixed, random_state=0)
    tok = RowTokenizer(enc, n_bins=8, n_sub_bins=16)
    back = enc.inverse_transform(tok.decode(tok.encode(matrix), np.random.default_rng(1)))
    for col in ("group", "tier", "member", "y"):  # categories: exact
        pd.testing.assert_series_equal(back[col], mixed[col])
    assert back["income"].isna().equals(mixed["income"].isna())
    # Numbers: inside the quantile range of their fine bin (1 / 128 of the probability mass).
    value = next(e for e in enc.encoders_ if e.spec.name == "age").value
    u = np.searchsorted(np.sort(mixed["age"]), mixed["age"], side="left") / len(mixed)
    lo = np.interp(np.clip(u - 2 / 128, 0, 1), value.levels, value.quantiles)
    hi = np.interp(np.clip(u + 3 / 128, 0, 1), value.levels, value.quantiles)
    assert ((back["age"] >= np.floor(lo)) & (back["age"] <= np.ceil(hi))).all()
    # ... and not rounded to bin centres: many distinct values come back.
    assert back["income"].nunique() > 0.8 * mixed["income"].nunique()


def test_tokenizer_known_columns(mixed):
    enc = TableEncoder("quantile", "index").fit(mixed, Schema.infer(mixed), random_state=0)
    tok = RowTokenizer(enc)
    fixed = pd.DataFrame({"income": [1.0, np.nan], "tier": ["low", np.nan]})
    _, known = enc.encode_fixed(fixed, random_state=0)
    cols = [c.column for c in tok.columns]
    assert tok.known_columns(known)[:, [cols.index("income"), cols.index("tier")]].tolist() == [
        [True, True],
        [False, False],
    ]


# -- network -----------------------------------------------------------------------------------
def _net():
    gen = torch.Generator().manual_seed(0)
    net = TokenTransformer([3, 5, 4, 2], [0, 6, 0, 6], d_model=16, n_layers=2, n_heads=2)
    net.initialize(gen)
    main = torch.stack([torch.randint(0, v, (7,), generator=gen) for v in (3, 5, 4, 2)], 1)
    fine = torch.randint(0, 6, (7, 4), generator=gen)
    return net.eval(), main, fine


def test_causal_mask():
    net, main, fine = _net()
    order = torch.tensor([2, 0, 3, 1])
    logits, _ = net(main, fine, order)
    changed = main.clone()
    changed[:, 1] = (changed[:, 1] + 1) % 5  # column 1 is visited last
    changed[:, 3] = (changed[:, 3] + 1) % 2  # column 3 is visited third
    logits2, _ = net(changed, fine, order)
    torch.testing.assert_close(logits2[:, :3], logits[:, :3])  # earlier positions unchanged
    assert not torch.allclose(logits2[:, 3], logits[:, 3])  # the last one sees the change


def _with_biases(net):
    """``net`` with every bias and layer-norm parameter drawn at random, as after training
    (initialisation zeroes the biases: decoding that folds or drops them must be tested
    with biases that matter)."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("bias") or ".ln" in name:
                p.copy_(p + 0.5 * torch.randn(p.shape, generator=gen))
    return net


@pytest.mark.parametrize("layout", ["heads", "lanes"])
def test_kv_cache_decode_equals_full_forward(layout):
    net, main, fine = _net()
    net = _with_biases(net)
    order = torch.tensor([3, 1, 0, 2])
    with torch.no_grad():
        full, full_fine = net(main, fine, order)
        cache = net.new_cache(len(main), layout=layout)
        prev = None
        for i, c in enumerate(order.tolist()):
            cols = torch.full((len(main),), c)
            hidden = net.step(prev, cols, cache)
            step = net.main_logits(hidden[:, None], torch.tensor([c]))[:, 0]
            torch.testing.assert_close(step, full[:, i], atol=1e-5, rtol=1e-5)
            if c in net.numeric_columns:
                k = [o for o in order.tolist() if o in net.numeric_columns].index(c)
                fl = net.fine_logits(hidden[:, None], torch.tensor([c]), main[:, c : c + 1])
                torch.testing.assert_close(fl[:, 0], full_fine[:, k], atol=1e-5, rtol=1e-5)
            prev = (cols, main[:, c], fine[:, c])


def test_lanes_in_bfloat16_decode_as_the_network_autocasts():
    """Decoding in lanes with bfloat16 matrix products (weights cast once, biases of keys and
    values folded away) gives the hidden states of the bfloat16-autocast network, within
    bfloat16 rounding."""
    net, main, fine = _net()
    net = _with_biases(net)
    order = torch.tensor([1, 3, 0, 2])
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            full = net.hidden(main, fine, order).float()
        cache = net.new_cache(len(main), dtype=torch.bfloat16, layout="lanes")
        assert all(b.qkv.dtype == torch.bfloat16 for b in cache.blocks)
        prev = None
        for i, c in enumerate(order.tolist()):
            cols = torch.full((len(main),), c)
            hidden = net.step(prev, cols, cache)
            assert hidden.dtype == torch.float32
            torch.testing.assert_close(hidden, full[:, i], atol=0.015, rtol=0.005)
            prev = (cols, main[:, c], fine[:, c])


@pytest.mark.parametrize("fused", [False, True])
def test_lane_attention_equals_softmax_attention(fused):
    """Attention in lanes (rows and heads innermost) is PyTorch's attention of one query per
    row and head, whichever way its sums run."""
    gen = torch.Generator().manual_seed(2)
    n, h, t, hd = 5, 3, 7, 4
    q, k, v = (torch.randn(n, h, s, hd, generator=gen) for s in (1, t, t))
    expected = _attention(q, k, v, causal=False)[:, :, 0]  # (n, h, hd)
    lanes = [x.permute(2, 1, 3, 0) for x in (q, k, v)]  # (positions, h, hd, n)
    out = lane_attention(lanes[0][0] * hd**-0.5, lanes[1], lanes[2], fused=fused)
    torch.testing.assert_close(out.permute(2, 0, 1), expected)


def test_grouped_likelihood_equals_the_padded_heads():
    """Scoring columns in groups of similar vocabulary (no padding to the widest one) gives
    the likelihood of the padded heads, in any column order, and a decoding step's logits
    are the padded logits cut to the column's vocabulary."""
    gen = torch.Generator().manual_seed(1)
    vocab, fine_vocab = [3, 300, 5, 40, 2, 33], [0, 0, 0, 32, 0, 32]
    net = TokenTransformer(vocab, fine_vocab, d_model=16, n_layers=1, n_heads=2)
    net.initialize(gen)
    with torch.no_grad():
        net.head_b.normal_(0.0, 1.0, generator=gen)  # distinct biases per entry
    assert net.vocab_groups() == [5, 40, 300]
    main = torch.stack([torch.randint(0, v, (9,), generator=gen) for v in vocab], 1)
    fine = torch.randint(0, 32, (9, 6), generator=gen)
    for order in (torch.arange(6), torch.tensor([4, 1, 5, 0, 3, 2])):
        logits, _ = net(main, fine, order)
        padded = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), main[:, order].flatten(), reduction="none"
        ).view(9, 6)
        x = net.hidden(main, fine, order)
        torch.testing.assert_close(net.main_nll(x, order, main[:, order]), padded)
        normed = net.final_norm(x)  # the layer norm once, read by both heads in training
        torch.testing.assert_close(net.main_nll(normed, order, main[:, order], True), padded)
        for i, c in enumerate(order.tolist()):
            torch.testing.assert_close(net.column_logits(x[:, i], c), logits[:, i, : vocab[c]])


@pytest.mark.parametrize("causal", [True, False])
def test_bfloat16_attention_matches_the_fused_kernel(causal):
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(3, 2, 6, 8, generator=gen) for _ in range(3))
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    got = _attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), causal)
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), expected, atol=0.05, rtol=0.05)


def test_output_heads_stay_float32_under_autocast():
    net, main, fine = _net()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, fine_logits = net(main, fine, torch.tensor([2, 0, 3, 1]))
    assert logits.dtype == fine_logits.dtype == torch.float32


# -- the generator -----------------------------------------------------------------------------
def test_fixed_columns_respected_and_conditional_shifts(toy_model):
    hi = toy_model.sample(200, conditions={"a": "hi"}, random_state=1)
    lo = toy_model.sample(200, conditions={"a": "lo"}, random_state=1)
    assert (hi["a"] == "hi").all() and (lo["a"] == "lo").all()
    # The dependency is carried over: b follows a, x is large for "hi".
    assert (hi["b"] == "hi").mean() > 0.7 and (lo["b"] == "lo").mean() > 0.7
    assert hi["x"].median() > 50 > lo["x"].median()
    # Conditioning on a later column (x) shifts an earlier one (a): random-order training.
    big = toy_model.sample(200, conditions={"x": 100.0}, random_state=2)
    small = toy_model.sample(200, conditions={"x": 0.0}, random_state=2)
    assert (big["x"] == 100.0).all()
    assert (big["a"] == "hi").mean() > 0.7 and (small["a"] == "lo").mean() > 0.7


def test_per_row_conditions_and_impute(toy_model, toy):
    frame = pd.DataFrame({"a": ["hi", None, "lo"], "b": [None, "lo", None], "x": [None, None, 1.5]})
    out = toy_model.sample(conditions=frame, random_state=0)
    assert out["a"].iloc[0] == "hi" and out["b"].iloc[1] == "lo" and out["x"].iloc[2] == 1.5
    holes = toy.head(20).copy()
    holes.loc[::2, "b"] = None
    filled = toy_model.impute(holes, random_state=0)
    assert filled["b"].notna().all()
    assert filled.loc[1::2, "b"].equals(toy.head(20).loc[1::2, "b"])


def test_log_prob_prefers_real_rows(toy_model, toy):
    real = toy.head(200).reset_index(drop=True)
    rng = np.random.default_rng(0)
    shuffled = real.copy()
    for col in shuffled.columns:  # break the dependencies, keep the marginals
        shuffled[col] = shuffled[col].to_numpy()[rng.permutation(len(real))]
    lp_real, lp_shuffled = toy_model.log_prob(real), toy_model.log_prob(shuffled)
    assert lp_real.shape == (200,) and np.isfinite(lp_real).all()
    assert lp_real.mean() > lp_shuffled.mean() + 1.0


def test_temperature_zero_gives_the_mode(toy_model):
    toy_model.set_params(sample_temperature=0.0)
    try:
        rows = toy_model.sample(50, random_state=0)
        again = toy_model.sample(50, random_state=7)
    finally:
        toy_model.set_params(sample_temperature=1.0)
    # Greedy decoding ignores the seed: one row, the most likely one (b follows a).
    assert rows.drop(columns="x").nunique().max() == 1
    assert rows.drop(columns="x").equals(again.drop(columns="x"))
    assert rows["a"].iloc[0] == rows["b"].iloc[0]


def test_top_p_keeps_only_the_head(toy_model):
    toy_model.set_params(top_p=0.5)
    try:
        rows = toy_model.sample(300, conditions={"a": "hi"}, random_state=0)
    finally:
        toy_model.set_params(top_p=1.0)
    # b is "hi" 90 % of the time given a = "hi": nucleus 0.5 leaves only that token.
    assert (rows["b"] == "hi").all()


def test_size_presets_by_rows(mixed):
    assert choose_size(100) == "small"
    assert choose_size(40_000) == "small"
    assert choose_size(500_000) == "medium"
    assert choose_size(10**7) == "medium"  # "large" only by name
    model = TabularTransformer(epochs=1, max_time=None, device="cpu", random_state=0).fit(mixed)
    assert model.size_ == "small"
    assert model.net_.d_model == SIZE_PRESETS["small"]["d_model"]
    big = TabularTransformer(size="medium", epochs=1, max_time=None, device="cpu").fit(mixed)
    assert big.net_.d_model == SIZE_PRESETS["medium"]["d_model"]


def test_save_load_keeps_log_prob(toy_model, toy, tmp_path):
    import synthgen as sg

    path = tmp_path / "m.sgm"
    toy_model.save(path)
    loaded = sg.load(path, device="cpu")
    np.testing.assert_allclose(loaded.log_prob(toy.head(10)), toy_model.log_prob(toy.head(10)))


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("size", "huge"),
        ("d_model", 0),
        ("n_heads", 1.5),
        ("n_bins", 0),
        ("n_sub_bins", "8"),
        ("token_dropout", 1.0),
        ("random_order", 1.5),
        ("validation_fraction", -0.1),
        ("sample_temperature", -1.0),
        ("top_p", 0.0),
        ("weight_decay", -1),
        ("batch_size", 0),
        ("patience", 0),
        ("precision", "float16"),
    ],
)
def test_bad_parameters_raise_in_fit(param, value, mixed):
    model = TabularTransformer(**{**FAST, "epochs": 1, param: value})
    with pytest.raises(ConfigurationError, match=param):
        model.fit(mixed)


def test_d_model_must_divide_by_heads(mixed):
    with pytest.raises(ConfigurationError, match="d_model"):
        TabularTransformer(**{**FAST, "d_model": 10, "n_heads": 4, "epochs": 1}).fit(mixed)


def test_conditioning_needs_random_order(toy):
    model = TabularTransformer(**FAST, epochs=1, random_order=0.0, random_state=0).fit(toy)
    model.sample(5, random_state=0)  # free sampling works
    with pytest.raises(ConfigurationError, match="random_order"):
        model.sample(5, conditions={"a": "hi"}, random_state=0)


# -- drawing -----------------------------------------------------------------------------------
def test_a_draw_follows_the_probabilities_and_never_takes_a_masked_token(toy_model):
    """One uniform per row through the cumulative probabilities: frequencies within sampling
    noise of the softmax, no draw of a token with no mass (here the filtered ones of top-p)."""
    logits = torch.log(torch.tensor([0.5, 0.0, 0.3, 0.2, 0.0])).expand(40_000, -1)
    gen = torch.Generator().manual_seed(0)
    counts = np.bincount(toy_model._draw_tokens(logits, gen).numpy(), minlength=5) / 40_000
    np.testing.assert_allclose(counts, [0.5, 0.0, 0.3, 0.2, 0.0], atol=0.01)
    toy_model.set_params(top_p=0.7)
    try:
        kept = toy_model._draw_tokens(logits, gen).numpy()
    finally:
        toy_model.set_params(top_p=1.0)
    assert set(np.unique(kept)) == {0, 2}  # 0.5 + 0.3 covers 0.7: the 0.2 token is cut


def test_the_shared_column_path_draws_what_the_per_column_path_draws(toy_model, monkeypatch):
    """Steps where all rows visit one column skip the gathers: the same rows come out."""
    fast = toy_model.sample(300, conditions={"a": "hi"}, random_state=3)
    fast_free = toy_model.sample(300, random_state=4)
    monkeypatch.setattr(
        TabularTransformer, "_shared_steps", staticmethod(lambda order, known: [False] * 9)
    )
    slow = toy_model.sample(300, conditions={"a": "hi"}, random_state=3)
    pd.testing.assert_frame_equal(slow, fast)
    pd.testing.assert_frame_equal(toy_model.sample(300, random_state=4), fast_free)


def test_decoding_runs_in_bfloat16_only_where_training_would(toy_model, monkeypatch):
    from synthgen.training import precision

    monkeypatch.setattr(precision, "cpu_has_fast_bfloat16", lambda: True)
    assert toy_model._decode_dtype() == torch.bfloat16
    rows = toy_model.sample(200, random_state=0)  # a bfloat16 key/value cache
    assert (rows["b"] == rows["a"]).mean() > 0.7  # b still follows a
    toy_model.set_params(precision="float32")
    try:
        assert toy_model._decode_dtype() == torch.float32
    finally:
        toy_model.set_params(precision="auto")
    monkeypatch.setattr(precision, "cpu_has_fast_bfloat16", lambda: False)
    assert toy_model._decode_dtype() == torch.float32


def _rewrite_state(path, out, change):
    """``path`` copied to ``out`` with ``change`` applied to its generator state."""
    rewrite_manifest(path, out, lambda manifest: change(manifest["state"]))


def test_a_model_saved_before_cdf_draws_keeps_its_draws(toy_model, tmp_path):
    """A file without ``draws`` is an older model's: it decodes in float32 and draws with
    ``torch.multinomial``, the rows it always drew; an unknown value is refused."""
    import synthgen as sg

    path, old, odd = tmp_path / "m.sgm", tmp_path / "old.sgm", tmp_path / "odd.sgm"
    toy_model.save(path)
    assert sg.load(path).draws_ == "fused"
    _rewrite_state(path, old, lambda state: state.pop("draws"))
    legacy = sg.load(old)
    assert legacy.draws_ == "multinomial" and legacy._decode_dtype() == torch.float32
    gen = torch.Generator().manual_seed(5)
    logits = torch.randn(64, 7)
    expected = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)[:, 0]
    gen.manual_seed(5)
    assert torch.equal(legacy._draw_tokens(logits, gen), expected)
    _rewrite_state(path, odd, lambda state: state.update(draws=["cdf"]))
    with pytest.raises(sg.PersistenceError, match="unknown transformer draws"):
        sg.load(odd)


def test_cdf_draws_keep_their_softmax_and_fused_draws_pad_short_vocabularies(toy_model, tmp_path):
    """A model saved with ``"cdf"`` draws takes the softmax over its own vocabulary, as it
    always did; ``"fused"`` pads a vocabulary under 16 with entries of no mass first (a
    quicker softmax on a CPU, the same distribution up to float32 rounding)."""
    import synthgen as sg
    from synthgen.generators.transformer.sampling import _MIN_SOFTMAX

    path, cdf = tmp_path / "m.sgm", tmp_path / "cdf.sgm"
    toy_model.save(path)
    _rewrite_state(path, cdf, lambda state: state.update(draws="cdf"))
    model = sg.load(cdf)
    assert model.draws_ == "cdf"
    logits = torch.randn(4096, 7, generator=torch.Generator().manual_seed(1)) * 4

    def by_cdf(probs, seed):
        cdf = probs.double().cumsum(-1)
        gen = torch.Generator().manual_seed(seed)
        u = torch.rand((len(cdf), 1), generator=gen, dtype=torch.float64)
        total = cdf[:, -1:]
        x = torch.minimum(u * total, torch.nextafter(total, torch.zeros_like(total)))
        return torch.searchsorted(cdf, x, right=True)[:, 0]

    own = by_cdf(torch.softmax(logits, -1), 3)
    padded = torch.nn.functional.pad(logits, (0, _MIN_SOFTMAX - 7), value=-math.inf)
    wide = by_cdf(torch.softmax(padded, -1), 3)
    assert torch.equal(model._draw_tokens(logits, torch.Generator().manual_seed(3)), own)
    fused = toy_model._draw_tokens(logits, torch.Generator().manual_seed(3))
    assert torch.equal(fused, wide) and int(fused.max()) < 7
    # The two softmaxes differ in the last bits only: nearly every draw agrees.
    assert (own == wide).float().mean() > 0.99


def test_prepared_heads_give_the_networks_logits(toy_model):
    from synthgen.generators.transformer.decoding import PreparedHeads

    net = toy_model.net_
    heads = PreparedHeads(net)
    h = torch.randn(50, net.d_model, generator=torch.Generator().manual_seed(0))
    normed = heads.norm(h)
    with torch.no_grad():
        for c, v in enumerate(net.vocab):
            expected = net.column_logits(h, c)
            torch.testing.assert_close(heads.main_logits(normed, c), expected)
            if c in net.numeric_columns:
                coarse = torch.arange(50) % v
                want = net.fine_logits(h[:, None], torch.tensor([c]), coarse[:, None])[:, 0]
                torch.testing.assert_close(heads.fine_logits(normed, c, coarse), want)
    assert net.numeric_columns  # the toy table has a number: its fine head was compared


@pytest.mark.parametrize("decoder", ["heads", "lanes"])
def test_a_reused_cache_draws_what_fresh_caches_draw(toy_model, monkeypatch, decoder):
    """Chunks of one size share a key/value cache: the rows are those of a cache per chunk
    (nothing of a chunk leaks into the next), free and conditional."""
    import synthgen.generators.transformer.sampling as sampling

    monkeypatch.setattr(toy_model, "decoder_", decoder)
    monkeypatch.setattr(sampling, "_CACHE_BYTES", 1)  # 64 rows per chunk
    free = toy_model.sample(200, random_state=5)
    given = toy_model.sample(200, conditions={"a": "hi"}, random_state=6)
    new_cache = type(toy_model.net_).new_cache
    made = []

    def fresh(self, n, **kw):
        made.append(n)
        cache = new_cache(self, n, **kw)
        cache.n_rows = -1  # never matches: a new cache for every chunk
        return cache

    monkeypatch.setattr(type(toy_model.net_), "new_cache", fresh)
    pd.testing.assert_frame_equal(toy_model.sample(200, random_state=5), free)
    pd.testing.assert_frame_equal(
        toy_model.sample(200, conditions={"a": "hi"}, random_state=6), given
    )
    assert made[:4] == [64, 64, 64, 8]


def test_a_model_saved_before_lanes_decodes_as_it_did(toy_model, tmp_path, monkeypatch):
    """A file without ``decoder`` decodes with the cache it was saved with, so it draws the
    rows it always drew; an unknown decoder is refused."""
    import synthgen as sg

    path, old, odd = tmp_path / "m.sgm", tmp_path / "old.sgm", tmp_path / "odd.sgm"
    toy_model.save(path)
    assert sg.load(path).decoder_ == "lanes"
    _rewrite_state(path, old, lambda state: state.pop("decoder"))
    legacy = sg.load(old)
    assert legacy.decoder_ == "heads"
    layouts = []
    new_cache = type(legacy.net_).new_cache
    monkeypatch.setattr(
        type(legacy.net_),
        "new_cache",
        lambda self, n, **kw: layouts.append(kw["layout"]) or new_cache(self, n, **kw),
    )
    rows = legacy.sample(300, random_state=3)
    assert set(layouts) == {"heads"}
    monkeypatch.setattr(toy_model, "decoder_", "heads")
    pd.testing.assert_frame_equal(rows, toy_model.sample(300, random_state=3))
    _rewrite_state(path, odd, lambda state: state.update(decoder="rows"))
    with pytest.raises(sg.PersistenceError, match="unknown transformer decoder"):
        sg.load(odd)


def test_a_wide_table_generates_fewer_rows_at_once(toy_model, monkeypatch):
    """The key/value cache of one chunk stays under its budget; legacy draws keep 4,096."""
    import synthgen.generators.transformer.sampling as sampling
    from synthgen.training import precision

    net = toy_model.net_
    per_row = 2 * net.n_layers * len(net.vocab) * net.cache_width * 4  # a float32 cache
    monkeypatch.setattr(precision, "cpu_has_fast_bfloat16", lambda: True)
    monkeypatch.setattr(sampling, "_CACHE_BYTES", 100 * per_row)
    assert toy_model._chunk_rows() == 100
    sizes = []
    new_cache = type(net).new_cache
    monkeypatch.setattr(
        type(net), "new_cache", lambda self, n, **kw: sizes.append(n) or new_cache(self, n, **kw)
    )
    rows = toy_model.sample(250, random_state=0)
    assert len(rows) == 250 and sizes == [100, 50]  # one cache per chunk size
    monkeypatch.setattr(toy_model, "decoder_", "heads")  # older models: a bfloat16 cache
    assert toy_model._chunk_rows() == 200
    monkeypatch.setattr(sampling, "_CACHE_BYTES", per_row)  # never below 64 rows
    assert toy_model._chunk_rows() == 64
    monkeypatch.setattr(toy_model, "draws_", "multinomial")
    assert toy_model._chunk_rows() == 4096
