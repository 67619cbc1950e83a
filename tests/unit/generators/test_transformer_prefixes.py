"""Shared prefixes while decoding: rows that drew the same tokens so far share a lane."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import synthgen as sg
from synthgen.exceptions import PersistenceError
from synthgen.generators.transformer import TabularTransformer, TokenTransformer
from synthgen.generators.transformer import prefixes as prefixes_module
from synthgen.generators.transformer.decoding import LaneCache
from synthgen.generators.transformer.prefixes import PrefixLanes
from synthgen.testing.model_files import rewrite_manifest

pytestmark = pytest.mark.usefixtures("one_thread_per_module")


def _lanes_seen(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """Record how many lanes each split leaves (``None``: sharing stopped)."""
    seen: list[int | None] = []
    advance = PrefixLanes.advance

    def spy(self, cache, main, fine):
        split = advance(self, cache, main, fine)
        seen.append(None if split is None else self.n_lanes)
        return split

    monkeypatch.setattr(PrefixLanes, "advance", spy)
    return seen


def _decode_in_prefix_lanes(net, main, fine):
    """Decode rows in schema order with shared lanes, each step fed the rows' own tokens."""
    n, n_cols = main.shape
    cache = net.new_cache(n, layout="lanes")
    net.begin(cache, torch.arange(n_cols).expand(n, -1))
    lanes, lane_prev, out, stops = PrefixLanes(n, "cpu"), None, [], []
    for c in range(n_cols):
        cols = torch.full((n,), c)
        if lanes.active:
            out.append(lanes.rows(net.step(lane_prev, cols[: lanes.n_lanes], cache)))
            if c + 1 < n_cols:
                split = lanes.advance(cache, main[:, c], fine[:, c])
                lane_prev = None if split is None else (c, *split)
                stops.append(split is None)
        else:
            out.append(net.step((c - 1, main[:, c - 1], fine[:, c - 1]), cols, cache))
    return torch.stack(out, 1), stops


@pytest.mark.parametrize("share", [1.0, 0.02])
def test_prefix_lanes_give_every_row_its_own_states(share, monkeypatch):
    """Hidden states decoded in shared lanes equal the whole-row network's, whether the
    lanes share to the end or stop sharing midway (``share``: the lanes allowed per row)."""
    monkeypatch.setattr(prefixes_module, "_MAX_SHARE", share)
    gen = torch.Generator().manual_seed(1)
    vocab, fine_vocab = [3, 2, 4, 6], [0, 0, 5, 0]
    net = TokenTransformer(vocab, fine_vocab, 16, 2, 4, kv_heads=2)
    net.initialize(gen)
    net.eval()
    main = torch.stack([torch.randint(0, v, (200,), generator=gen) for v in vocab], 1)
    fine = torch.randint(0, 5, (200, 4), generator=gen) * (torch.tensor(fine_vocab) > 0)
    with torch.no_grad():
        full = net.hidden(main, fine, torch.arange(4))
        got, stops = _decode_in_prefix_lanes(net, main, fine)
    assert torch.allclose(got, full, atol=1e-5)
    assert stops == ([False, False, False] if share == 1 else [False, True])  # 4 lanes < 3 x 2


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    """Three labelled columns first (few prefixes), then a number that splits every row."""
    rng = np.random.default_rng(3)
    n = 600
    a = rng.choice(["x", "y", "z"], n)
    b = np.where(rng.random(n) < 0.8, a, "w")
    c = rng.choice(["p", "q"], n)
    v = np.where(a == "x", 10.0, 50.0) + rng.normal(0, 3, n)
    return pd.DataFrame({"a": a, "b": b, "c": c, "v": v.round(2)})


@pytest.fixture(scope="module")
def model(labelled):
    params = {"max_time": None, "d_model": 16, "n_layers": 2, "n_heads": 4, "device": "cpu"}
    return TabularTransformer(**params, epochs=2, batch_size=100, random_state=0).fit(labelled)


def test_sampling_shares_the_prefixes_of_free_and_fixed_columns(model, monkeypatch):
    """A fitted model's draws run in a few dozen lanes for 600 rows, free or with a fixed
    column (one lane for all), and draw about the rows a lane per row draws (a rounding
    may flip a rare draw)."""
    seen = _lanes_seen(monkeypatch)
    free = model.sample(600, random_state=5)
    assert len(seen) == 3 and seen[0] <= 3 and seen[2] <= 3 * 4 * 2  # labels of a, b, c
    seen.clear()
    given = model.sample(600, conditions={"c": "p"}, random_state=6)
    assert seen[0] == 1 and (given["c"] == "p").all()
    monkeypatch.setattr(model, "shared_prefixes_", False)
    seen.clear()
    alone = model.sample(600, random_state=5)
    assert not seen  # no lanes shared
    assert (free.to_numpy() == alone.to_numpy()).mean() > 0.98


def _rewrite(path, tmp_path, change):
    """A copy of the model file whose metadata ``change`` edits."""
    bad = tmp_path / "edited.sgm"
    rewrite_manifest(path, bad, lambda manifest: change(manifest["state"]))
    return bad


def test_files_saved_before_shared_prefixes_keep_a_lane_per_row(model, tmp_path, monkeypatch):
    """A file without the flag keeps its rows (no lanes shared); a hostile flag is refused."""
    path = tmp_path / "m.sgm"
    model.save(path)
    assert sg.load(path).shared_prefixes_ is True
    old = sg.load(_rewrite(path, tmp_path, lambda meta: meta.pop("shared_prefixes")))
    assert old.shared_prefixes_ is False
    seen = _lanes_seen(monkeypatch)
    old.sample(50, random_state=1)
    assert not seen
    for bad in ("yes", 1, None):
        edited = _rewrite(path, tmp_path, lambda meta, bad=bad: meta.update(shared_prefixes=bad))
        with pytest.raises(PersistenceError, match="shared_prefixes"):
            sg.load(edited)


def test_a_prefix_all_rows_share_moves_the_cache_with_its_lanes():
    """One lane after a split when every row took the same token; ``stop`` gives every row
    its prefix's keys again."""
    cache = LaneCache(1, 4, 1, 3, 2)
    cache.keys[0][0, 0, :, 0] = torch.tensor([1.0, 2.0])
    cache.length = 1
    lanes = PrefixLanes(4, "cpu")
    tokens = lanes.advance(cache, torch.full((4,), 3), torch.zeros(4, dtype=torch.long))
    assert lanes.n_lanes == 1 and lanes.row_lane.tolist() == [0, 0, 0, 0]
    assert [t.tolist() for t in tokens] == [[3], [0]]
    lanes.stop(cache)
    assert not lanes.active
    assert cache.keys[0][0, 0].tolist() == [[1.0] * 4, [2.0] * 4]


def test_a_wide_network_keeps_a_lane_per_row(labelled):
    """A position of several columns sums its cells per row, and a cache in heads keeps
    a row per lane: no shared lanes."""
    params = {"max_time": None, "d_model": 16, "n_layers": 1, "n_heads": 2, "device": "cpu"}
    wide = TabularTransformer(**params, columns_per_position=2, epochs=1, random_state=0)
    wide.fit(labelled)
    assert wide.shared_prefixes_
    assert PrefixLanes.for_chunk(wide.net_.new_cache(8, layout="lanes"), 8) is None
    assert PrefixLanes.for_chunk(TokenTransformer([2], [0], 8, 1, 2).new_cache(8), 8) is None
