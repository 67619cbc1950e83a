"""The benchmark tables of ``../shared/data`` and the 80/20 protocol."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from synthgen.evaluation.split import split_train_holdout

__all__ = ["DATASETS", "load_dataset", "split_train_holdout"]

DATA_DIR = Path(
    os.environ.get("SYNTHGEN_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
)

#: name -> (file, target column)
DATASETS = {
    "adult": ("adult.csv", "income"),
    "creditcard_default": ("creditcard_default.csv.gz", "has_default"),
    "bank_marketing": ("bank_marketing.csv.gz", "y"),
}


def load_dataset(name: str, target: str = "") -> tuple[pd.DataFrame, str]:
    """A benchmark table and its target column.

    ``name`` is one of :data:`DATASETS` (labels stripped, ``?`` read as missing) or the path of
    any CSV/Parquet file, whose target column is ``target``.
    """
    if name not in DATASETS:
        from synthgen.tabular_io import read_table

        frame = read_table(name)
        if target and target not in frame.columns:
            raise SystemExit(f"{name}: no target column {target!r}")
        return frame, target
    file, default_target = DATASETS[name]
    frame = pd.read_csv(DATA_DIR / file)
    for col in frame.columns:
        if frame[col].dtype == object:
            stripped = frame[col].str.strip()
            frame[col] = stripped.where(stripped != "?", np.nan)
    return frame, target or default_target
