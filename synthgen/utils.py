"""Small shared helpers: explicit random generators, device resolution, argument checks."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConfigurationError

__all__ = [
    "check_n_samples",
    "check_random_state",
    "json_ready",
    "resolve_device",
    "torch_generator",
]


def check_random_state(random_state: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``None``, an integer seed or a Generator.

    The process-wide random state is never used or changed.

    Examples
    --------
    >>> a = check_random_state(3).integers(100, size=3)
    >>> b = check_random_state(3).integers(100, size=3)
    >>> bool((a == b).all())
    True
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (
        isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    ):
        if random_state is not None and random_state < 0:
            raise ConfigurationError(f"random_state must be >= 0, got {random_state}")
        return np.random.default_rng(random_state)
    raise ConfigurationError(
        f"random_state must be None, a non-negative int or a numpy Generator, "
        f"got {type(random_state).__name__}"
    )


def check_n_samples(n_samples: Any) -> int:
    """Validate a requested row count.

    Examples
    --------
    >>> check_n_samples(5)
    5
    >>> check_n_samples(0)
    Traceback (most recent call last):
    ...
    synthgen.exceptions.ConfigurationError: n_samples must be a positive integer, got 0
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral):
        raise ConfigurationError(
            f"n_samples must be a positive integer, got {n_samples!r} ({type(n_samples).__name__})"
        )
    if n_samples <= 0:
        raise ConfigurationError(f"n_samples must be a positive integer, got {n_samples}")
    return int(n_samples)


def torch_generator(rng: np.random.Generator, device: Any = "cpu"):
    """A ``torch.Generator`` on ``device`` seeded from ``rng`` (global torch RNG untouched)."""
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(2**62)))
    return gen


def resolve_device(device: Any = "auto"):
    """Resolve ``"auto"`` to cuda, then mps, then cpu; pass explicit devices through.

    Examples
    --------
    >>> str(resolve_device("cpu"))
    'cpu'
    """
    import torch

    if isinstance(device, torch.device):
        return device
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigurationError(f"device {device!r} is not a valid torch device: {err}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError("device 'cuda' was requested, but CUDA is not available")
    return dev


def json_ready(value: Any) -> Any:
    """Plain JSON value: numpy scalars/arrays to Python, NaN and infinities to ``None``.

    Examples
    --------
    >>> json_ready({"a": np.float64("nan"), "b": np.int64(3), "c": (np.bool_(True),)})
    {'a': None, 'b': 3, 'c': [True]}
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [json_ready(v) for v in list(value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def concat_rows(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)`` for frames with the same columns, quicker.

    Each column is joined on its own: numpy columns of one dtype by ``np.concatenate`` (pandas
    copies a frame of object columns block by block, about five times slower), any other
    column (categorical, nullable, dates with a time zone, dtypes that differ between frames)
    by ``pd.concat`` of its pieces, which resolves the dtype as a concat of the frames does.

    Examples
    --------
    >>> a = pd.DataFrame({"x": [1, 2], "c": pd.Categorical(["u", "v"]), "s": ["p", None]})
    >>> b = pd.DataFrame({"x": [3], "c": pd.Categorical(["v"]), "s": ["q"]})
    >>> concat_rows([a, b]).equals(pd.concat([a, b], ignore_index=True))
    True
    """
    if len(frames) == 1:
        return frames[0]
    columns = {}
    for j, name in enumerate(frames[0].columns):
        pieces = [frame.iloc[:, j] for frame in frames]
        dtype = pieces[0].dtype
        if isinstance(dtype, np.dtype) and all(p.dtype == dtype for p in pieces):
            columns[name] = pd.Series(np.concatenate([p.to_numpy() for p in pieces]), name=name)
        else:
            columns[name] = pd.concat(pieces, ignore_index=True)
    out = pd.DataFrame(columns, copy=False)
    out.columns = frames[0].columns
    return out
