"""The benchmark protocol's split: the rows ``DataFrame.sample`` shuffles into, in order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthgen.evaluation.split import split_train_holdout


@pytest.mark.parametrize("seed", [0, 7])
def test_the_split_is_the_shuffle_of_dataframe_sample(seed):
    rng = np.random.default_rng(1)
    data = pd.DataFrame(
        {"x": rng.normal(size=503), "c": rng.choice(["a", "b"], 503)},
        index=rng.permutation(1000)[:503],  # an index of its own: not carried over
    )
    before = data.copy()
    train, holdout = split_train_holdout(data, train_share=0.8, random_state=seed)
    shuffled = data.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    pd.testing.assert_frame_equal(train, shuffled.iloc[:402].reset_index(drop=True))
    pd.testing.assert_frame_equal(holdout, shuffled.iloc[402:].reset_index(drop=True))
    assert isinstance(train.index, pd.RangeIndex) and isinstance(holdout.index, pd.RangeIndex)
    pd.testing.assert_frame_equal(data, before)  # not modified
