"""Bundled demo data: real public tables shipped inside the package (no download)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["list_datasets", "load_adult", "load_adult_raw"]


def _path(name: str):
    return resources.files("synthgen.datasets").joinpath("data", name)


def load_adult_raw() -> pd.DataFrame:
    """The UCI Adult census table (32,561 rows x 15 columns) exactly as published.

    Category labels keep their leading space (``" Male"``) and missing values read ``" ?"``.

    Examples
    --------
    >>> load_adult_raw()["sex"].iloc[0]
    ' Male'
    """
    with _path("adult.csv.gz").open("rb") as fh:
        return pd.read_csv(fh, compression="gzip")


def load_adult() -> pd.DataFrame:
    """The UCI Adult census table, cleaned: labels stripped, ``"?"`` read as missing.

    Public data (Becker & Kohavi, 1996, UCI Machine Learning Repository). The target column is
    ``income`` (``"<=50K"`` / ``">50K"``).

    Examples
    --------
    >>> df = load_adult()
    >>> df.shape
    (32561, 15)
    >>> sorted(df["income"].unique())
    ['<=50K', '>50K']
    >>> int(df["workclass"].isna().sum())
    1836
    """
    df = load_adult_raw()
    for name in df.columns:
        # object under pandas 2, the string dtype under pandas 3
        if df[name].dtype == object or pd.api.types.is_string_dtype(df[name].dtype):
            stripped = df[name].str.strip()
            df[name] = stripped.where(stripped != "?", np.nan)
    return df


def list_datasets() -> list[str]:
    """Names of the bundled data sets.

    Examples
    --------
    >>> list_datasets()
    ['adult']
    """
    return ["adult"]
