"""Evaluation of tables with a high-cardinality and a free-text column: bounded width, seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd

import synthgen as sg
from synthgen.evaluation.data import MAX_EXACT_CODES, prepare
from synthgen.evaluation.distance import HASH_DIMS, MixedEmbedding
from synthgen.evaluation.fidelity import association_matrix
from synthgen.evaluation.models import feature_matrix
from synthgen.evaluation.thresholds import EvaluationLimits


def _table(n: int, seed: int) -> pd.DataFrame:
    """A Zipf-like merchant column, a batch code of each frame's own (disjoint between frames,
    mostly unique: kind "text") and free text."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, 3001)
    idx = rng.choice(3000, n, p=p / p.sum())
    words = np.array(["red", "fox", "jumps", "over", "lazy", "dog", "quick", "brown"])
    text = [" ".join(rng.choice(words, 6)) + f" {seed}-{i}" for i in range(n)]
    return pd.DataFrame(
        {
            "x": rng.normal(size=n) + idx % 5,
            "merchant": [f"m{i}" for i in idx],
            "batch": [f"b{seed}_{i}" for i in rng.integers(0, 20 * n, n)],
            "note": text,
        }
    )


def test_codes_ranked_by_real_frequency_and_compact():
    real, syn = _table(1500, 0), _table(1500, 1)
    prep = prepare(real, syn)
    assert prep.kinds["batch"] == "text" and "note" in prep.excluded  # free text: generated
    assert prep.high_cardinality("merchant") and prep.high_cardinality("batch")
    j = prep.categorical.index("merchant")
    counts = np.bincount(prep.codes["real"][:, j])
    assert counts[0] == real["merchant"].value_counts().iloc[0]  # code 0: most frequent
    compact = prep.compact_codes("synthetic")
    assert compact.max() <= MAX_EXACT_CODES
    # Batch codes of the synthetic frame are never in the real one: all in the shared code.
    k = prep.categorical.index("batch")
    assert (compact[:, k] == MAX_EXACT_CODES - 1).all()
    X, mask = feature_matrix(prep, "synthetic")
    assert X[:, 1:].max() <= MAX_EXACT_CODES and mask[1:].all()
    assoc = association_matrix(prep, "real", ["x", "merchant", "batch"])
    assert assoc.shape == (3, 3) and np.isfinite(assoc).all()


def test_embedding_width_bounded_and_distances_kept():
    emb = MixedEmbedding(np.zeros((2, 0)), [1_000_000])
    assert emb.dim == HASH_DIMS
    codes = np.array([[3], [3], [5000], [5000], [900_000]])
    x = emb.transform(np.zeros((5, 0)), codes)
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2)
    assert d2[0, 1] == 0 and d2[2, 3] == 0  # equal codes: 0
    off = d2[np.triu_indices(5, 1)][[1, 2, 3, 4, 5, 6, 8, 9]]  # pairs of different codes
    assert ((off > 0.5) & (off < 1.5)).all()  # about 1, like a one-hot mismatch


def test_evaluate_high_cardinality_deterministic_and_frequency_ranked():
    real, syn, hold = _table(1200, 0), _table(1200, 1), _table(600, 2)
    limits = EvaluationLimits(hgb_max_iter=10, anonymeter_attacks=50, detection_rows=500)
    a = sg.evaluate(real, syn, hold, random_state=3, limits=limits)
    b = sg.evaluate(real, syn, hold, random_state=3, limits=limits)
    values = {m.name: m.value for m in a.metrics}
    assert values == {m.name: m.value for m in b.metrics}
    # Batch codes differ between every frame: the detector must not tell holdout from
    # synthetic rows by the order in which the codes were first seen.
    assert values["detection_auc"] < 0.65


def test_shape_scored_by_frequency_rank():
    """Rows whose labels are past the most frequent ones count in one shared bucket, so a
    model that gives them back as the pooled placeholder keeps the column's shape."""
    real = _table(3000, 0)[["x", "merchant"]]
    top = prepare(real, real).categories["merchant"][: MAX_EXACT_CODES - 1]  # ranked, ties kept
    assert len(top) == MAX_EXACT_CODES - 1 and real["merchant"].nunique() > len(top)
    syn = real.sample(frac=1.0, random_state=0).reset_index(drop=True)
    syn.loc[~syn["merchant"].isin(top), "merchant"] = "(other)"
    report = sg.evaluate(real, syn, random_state=0, limits=EvaluationLimits(hgb_max_iter=5))
    assert report["column_shapes"].details["per_column"]["merchant"] == 1.0
