"""Compact training rows: one column of codes per one-hot block, widened a batch at a time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import synthgen as sg
from synthgen.generators.compact import CompactPlan
from synthgen.generators.gan.sampler import ConditionalSampler
from synthgen.generators.nn import SpanLayout
from synthgen.schema import Schema
from synthgen.transforms import TableEncoder


def _encoder(frame: pd.DataFrame, numeric: str) -> TableEncoder:
    schema = Schema.infer(frame)
    return TableEncoder(numeric=numeric, discrete="onehot").fit(frame, schema, random_state=0)


def _table(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": np.where(rng.random(n) < 0.2, np.nan, x),
            "merchant": rng.choice([f"m{i:03d}" for i in range(12)], size=n),
            "colour": rng.choice(["red", "green", None], size=n),
            "flag": rng.random(n) < 0.3,
        }
    )
    return frame


@pytest.mark.parametrize("numeric", ["quantile", "gmm"])
def test_compact_rows_widen_to_exactly_the_full_matrix(numeric):
    frame = _table()
    encoder = _encoder(frame, numeric)
    full = encoder.transform(frame, random_state=1)
    compact = encoder.transform(frame, random_state=1, compact=True)
    plan = CompactPlan.of(encoder)
    # one column per categorical block: far narrower than the one-hot matrix
    assert compact.shape == (len(frame), plan.width)
    assert plan.width < full.shape[1] - 12
    np.testing.assert_array_equal(plan.expand(torch.from_numpy(compact)).numpy(), full)
    # a batch of rows in another order widens to the same rows
    batch = torch.from_numpy(compact[[7, 2, 5]])
    np.testing.assert_array_equal(plan.expand(batch).numpy(), full[[7, 2, 5]])


def test_span_codes_read_coded_and_plain_blocks():
    frame = _table()
    encoder = _encoder(frame, "gmm")
    full = encoder.transform(frame, random_state=1)
    compact = encoder.transform(frame, random_state=1, compact=True)
    plan = CompactPlan.of(encoder)
    for span in encoder.spans:
        if span.activation == "softmax":
            expected = full[:, span.start : span.end].argmax(axis=1)
            np.testing.assert_array_equal(plan.span_codes(compact, span), expected)


def test_gan_sampler_tables_match_on_the_compact_matrix():
    frame = _table()
    encoder = _encoder(frame, "gmm")
    layout = SpanLayout(encoder.spans)
    full = ConditionalSampler(encoder.transform(frame, random_state=1), layout)
    compact = ConditionalSampler(
        encoder.transform(frame, random_state=1, compact=True),
        layout,
        plan=CompactPlan.of(encoder),
    )
    for name in ("log_p", "real_p", "rows", "first", "count"):
        assert torch.equal(getattr(full, name), getattr(compact, name)), name


@pytest.mark.parametrize("family", ["gan", "vae", "diffusion"])
def test_neural_families_train_on_the_compact_matrix(family, monkeypatch):
    frame = _table()
    model = sg.make_generator(family, epochs=1, batch_size=100, random_state=0)
    seen = {}
    fit_encoded = type(model)._fit_encoded

    def spy(self, matrix, rng):
        seen["width"] = matrix.shape[1]
        return fit_encoded(self, matrix, rng)

    monkeypatch.setattr(type(model), "_fit_encoded", spy)
    model.fit(frame)
    assert seen["width"] == CompactPlan.of(model.encoder_).width < model.encoder_.output_dim
    out = model.sample(50, random_state=0)
    assert set(out["merchant"]) <= set(frame["merchant"])


def test_a_block_too_wide_for_float32_codes_is_refused():
    with pytest.raises(ValueError, match="too wide"):
        CompactPlan([(0, 2**24, True)])
