"""The privacy figures of the transformer benchmark behave as their definitions say."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_transformer import copy_rates, dcr_share
from synthgen.schema import Schema
from synthgen.testing import make_mixed_table


def test_copies_of_train_are_flagged():
    data = make_mixed_table(300, random_state=0)
    train, holdout = data.iloc[:150].reset_index(drop=True), data.iloc[150:].reset_index(drop=True)
    schema = Schema.infer(train)
    # Synthetic rows that copy the train table sit on a train row: share 1, copy rate 1.
    assert dcr_share(train, holdout, train.copy(), schema) == 1.0
    assert copy_rates(train, holdout, train.copy(), schema)[0] == 1.0
    # Fresh rows from the same population are as close to holdout as to train.
    fresh = make_mixed_table(150, random_state=1)
    share = dcr_share(train, holdout, fresh, schema)
    assert 0.3 < share < 0.7
    syn, base = copy_rates(train, holdout, fresh, schema)
    assert syn == 0.0 and base == 0.0 and np.isfinite(share)
