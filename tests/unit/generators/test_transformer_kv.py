"""Grouped-query attention in the transformer: fewer heads of keys and values than of queries."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

import synthgen as sg
from synthgen.exceptions import ConfigurationError
from synthgen.generators.transformer import TabularTransformer, TokenTransformer
from synthgen.generators.transformer.blocks import _attention, _Block
from synthgen.generators.transformer.decoding import lane_attention
from synthgen.generators.transformer.wide import WideTransformer
from synthgen.testing.model_files import rewrite_manifest

FAST = {"max_time": None, "d_model": 16, "n_layers": 1, "n_heads": 4, "device": "cpu"}
VOCAB, FINE = [3, 5, 4, 2, 6], [0, 6, 0, 6, 0]

pytestmark = pytest.mark.usefixtures("one_thread_per_module")

# (query heads, key/value heads): multi-query, grouped, and one key/value head per query head.
HEADS = [(4, 1), (4, 2), (2, 2)]


def _random_biases(net: torch.nn.Module, seed: int) -> None:
    """Every bias and layer norm drawn at random, as after training (decoding folds the
    biases of keys and values away: they must matter in the comparison)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("bias") or "ln" in name:
                p.add_(0.5 * torch.randn(p.shape, generator=gen))


def _net(
    heads: int, kv: int, group: int = 1
) -> tuple[TokenTransformer, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(heads * 10 + kv)
    if group == 1:
        net = TokenTransformer(VOCAB, FINE, 16, 2, heads, kv_heads=kv)
    else:
        net = WideTransformer(VOCAB, FINE, 16, 2, heads, columns_per_position=group, kv_heads=kv)
    net.initialize(gen)
    _random_biases(net, kv)
    main = torch.stack([torch.randint(0, v, (6,), generator=gen) for v in VOCAB], 1)
    fine = torch.randint(0, 6, (6, len(VOCAB)), generator=gen)
    return net.eval(), main, fine


def _decode(net, main, fine, order, layout="lanes", dtype=torch.float32):
    cache = net.new_cache(len(main), dtype=dtype, layout=layout)
    orders = order.expand(len(main), -1)
    net.begin(cache, orders)
    prev, out = None, []
    for c in order.tolist():
        cols = torch.full((len(main),), c)
        out.append(net.step(prev, cols, cache))
        prev = (cols, main[:, c], fine[:, c])
    return torch.stack(out, 1), cache


@pytest.mark.parametrize(("heads", "kv"), HEADS)
def test_the_projection_holds_one_key_and_value_per_kv_head(heads, kv):
    block = _Block(16, heads, 32, kv)
    assert block.qkv.weight.shape == (16 + 2 * kv * (16 // heads), 16)
    with pytest.raises(ValueError, match="cannot share"):
        _Block(16, 4, 32, 3)


@pytest.mark.parametrize(("heads", "kv"), HEADS)
@pytest.mark.parametrize("layout", ["heads", "lanes"])
def test_decoding_equals_the_full_forward(heads, kv, layout):
    """Step by step with a cache of ``kv`` heads gives the whole-row network's states, in
    both cache layouts."""
    net, main, fine = _net(heads, kv)
    order = torch.tensor([3, 1, 4, 0, 2])
    with torch.no_grad():
        full = net.hidden(main, fine, order)
        got, cache = _decode(net, main, fine, order, layout)
    torch.testing.assert_close(got, full, atol=1e-5, rtol=1e-5)
    assert cache.keys[0].shape[1] == kv  # (rows or positions, kv heads, ...)


@pytest.mark.parametrize(("heads", "kv"), HEADS)
def test_a_wide_network_decodes_its_groups_with_shared_keys(heads, kv):
    net, main, fine = _net(heads, kv, group=2)
    order = torch.tensor([2, 0, 4, 1, 3])
    with torch.no_grad():
        full = net.hidden(main, fine, order)
        got, _ = _decode(net, main, fine, order)
    torch.testing.assert_close(got, full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("heads", "kv"), HEADS[:2])
def test_bfloat16_lanes_follow_the_autocast_network(heads, kv):
    net, main, fine = _net(heads, kv)
    order = torch.tensor([1, 3, 0, 2, 4])
    with torch.no_grad():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            full = net.hidden(main, fine, order).float()
        got, _ = _decode(net, main, fine, order, dtype=torch.bfloat16)
    torch.testing.assert_close(got, full, atol=0.015, rtol=0.005)


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize(("heads", "kv"), HEADS)
def test_lane_attention_gives_each_query_head_its_groups_keys(heads, kv, fused):
    """Query head ``i`` attends with key/value head ``i // (heads // kv)``."""
    gen = torch.Generator().manual_seed(3)
    n, t, hd = 5, 6, 4
    q = torch.randn(n, heads, 1, hd, generator=gen)
    k, v = (torch.randn(n, kv, t, hd, generator=gen) for _ in range(2))
    spread = [x.repeat_interleave(heads // kv, dim=1) for x in (k, v)]
    expected = _attention(q, *spread, causal=False)[:, :, 0]  # (n, heads, hd)
    q_l, k_l, v_l = (x.permute(2, 1, 3, 0) for x in (q, k, v))  # (positions, heads, hd, n)
    out = lane_attention(q_l[0] * hd**-0.5, k_l, v_l, fused=fused)
    torch.testing.assert_close(out.permute(2, 0, 1), expected)


# -- the estimator ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mqa_model(toy):
    params = {**FAST, "epochs": 3, "batch_size": 100}
    return TabularTransformer(**params, kv_heads=1, random_state=0).fit(toy)


def test_kv_heads_shrink_the_cache_and_grow_the_chunk(mqa_model, monkeypatch):
    import synthgen.generators.transformer.sampling as sampling

    net = mqa_model.net_
    assert net.kv_heads == 1 and mqa_model.arch_["kv_heads"] == 1
    assert net.new_cache(8, layout="lanes").keys[0].shape[1] == 1
    per_row = 2 * net.n_layers * net.n_positions * (net.d_model // net.n_heads) * 4
    monkeypatch.setattr(sampling, "_CACHE_BYTES", 100 * per_row)
    assert mqa_model._chunk_rows() == 100  # four times the rows of a cache of four heads


def test_save_load_keeps_the_rows_and_hostile_heads_are_refused(mqa_model, toy, tmp_path):
    path = tmp_path / "m.sgm"
    mqa_model.save(path)
    loaded = sg.load(path)
    assert loaded.net_.kv_heads == 1
    pd.testing.assert_frame_equal(
        loaded.sample(150, random_state=4), mqa_model.sample(150, random_state=4)
    )
    for i, kv in enumerate([0, 3, 5, -1]):
        odd = tmp_path / f"odd{i}.sgm"
        rewrite_manifest(path, odd, lambda m, kv=kv: m["state"]["arch"].update(kv_heads=kv))
        with pytest.raises(sg.PersistenceError, match="kv_heads"):
            sg.load(odd)


def test_a_file_without_kv_heads_has_one_per_head(toy, tmp_path):
    """Models saved before ``kv_heads`` have a key and a value per query head, and sample
    the rows they did."""
    model = TabularTransformer(**FAST, kv_heads=4, epochs=1, random_state=0).fit(toy)
    path, old = tmp_path / "m.sgm", tmp_path / "old.sgm"
    model.save(path)
    rewrite_manifest(path, old, lambda m: m["state"]["arch"].pop("kv_heads"))
    legacy = sg.load(old)
    assert legacy.net_.kv_heads == legacy.net_.n_heads == 4
    pd.testing.assert_frame_equal(
        legacy.sample(100, random_state=2), model.sample(100, random_state=2)
    )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"kv_heads": 0}, "kv_heads"),
        ({"kv_heads": 1.5}, "kv_heads"),
        ({"kv_heads": 3}, "multiple of kv_heads"),
        ({"n_heads": 2, "kv_heads": 4}, "multiple of kv_heads"),
    ],
)
def test_bad_kv_heads_are_refused_in_fit(params, match, toy):
    with pytest.raises(ConfigurationError, match=match):
        TabularTransformer(**{**FAST, "epochs": 1, **params}).fit(toy)


def test_the_presets_share_one_key_and_value_head(toy):
    """Fitted with the presets' heads, a model has one key/value head for its four query
    heads; ``kv_heads=n_heads`` is the plain network (a key and a value per head)."""
    default = TabularTransformer(epochs=1, max_time=None, random_state=0).fit(toy)
    assert default.arch_["n_heads"] == 4 and default.arch_["kv_heads"] == 1
    d = default.net_.d_model
    assert default.net_.blocks[0].qkv.weight.shape[0] == d + 2 * d // 4
    plain = TabularTransformer(**{**FAST, "d_model": 16}, kv_heads=4, epochs=1).fit(toy)
    assert plain.net_.blocks[0].qkv.weight.shape[0] == 3 * 16
