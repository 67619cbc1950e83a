"""Contract checks for tables kept outside memory (part of :data:`~synthgen.testing.CHECKS`).

A generator fits from a table stored as Parquet parts, streamed one row group at a time when
it can (:func:`~synthgen.generators.sharded.fit_parts` with ``fit_rows``), repeatably; and
``sample_to`` writes the same rows whatever its ``chunk_size``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

__all__ = ["check_chunked_sample", "check_streamed_fit"]


def _write_parts(data: pd.DataFrame, folder: Path) -> Path:
    """``data`` as two Parquet parts of a few row groups each."""
    folder.mkdir(parents=True, exist_ok=True)
    group = max(1, len(data) // 6)
    for i, rows in enumerate(np.array_split(np.arange(len(data)), 2)):
        data.iloc[rows].to_parquet(folder / f"part-{i}.parquet", row_group_size=group)
    return folder


def check_streamed_fit(generator: Any, data: pd.DataFrame) -> None:
    """``fit_parts`` with ``fit_rows`` below the row count fits on every row, the same way
    twice, and the model samples the table's columns."""
    from synthgen.generators.sharded import fit_parts
    from synthgen.generators.streamed import streams

    with tempfile.TemporaryDirectory() as tmp:
        folder = _write_parts(data, Path(tmp, "parts"))
        # every row but one in the sample: each stored label is in it (rare ones are pooled)
        seeded = clone(generator).set_params(random_state=11)
        first = fit_parts(clone(seeded), folder, fit_rows=len(data) - 1)
        again = fit_parts(clone(seeded), folder, fit_rows=len(data) - 1)
    if streams(first) and first.n_train_rows_ != len(data):
        raise AssertionError(
            f"a streamed fit counted {first.n_train_rows_} rows, the parts hold {len(data)}"
        )
    rows = first.sample(40, random_state=0)
    if list(rows.columns) != list(data.columns) or len(rows) != 40:
        raise AssertionError("a model fitted from Parquet parts sampled other columns or rows")
    pd.testing.assert_frame_equal(rows, again.sample(40, random_state=0))


def check_chunked_sample(generator: Any, data: pd.DataFrame) -> None:
    """``sample_to`` writes the same rows in chunks of 32 as in one chunk, and as ``sample``."""
    model = clone(generator).set_params(random_state=11).fit(data)
    with tempfile.TemporaryDirectory() as tmp:
        whole = model.sample_to(Path(tmp, "one"), 90, chunk_size=90, random_state=3)
        parts = model.sample_to(Path(tmp, "many"), 90, chunk_size=32, random_state=3)
        if len(list(Path(parts).iterdir())) != 3:
            raise AssertionError("sample_to(chunk_size=32) of 90 rows did not write 3 parts")
        pd.testing.assert_frame_equal(pd.read_parquet(whole), pd.read_parquet(parts))
