"""Small shared helpers: explicit random generators, device resolution, argument checks."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from synthgen.exceptions import ConfigurationError

__all__ = [
    "RowJoiner",
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


class RowJoiner:
    """Frames with the same columns joined in the order they are added, as
    ``pd.concat(frames, ignore_index=True)`` joins them, without holding the frames.

    From the second frame on, each numpy column is copied into one array of ``n_rows``
    allocated once, so a frame's memory is free again as soon as it is added: chunks
    decoded one after the other reuse the same memory, and the rows touch fresh memory once
    (in a fresh process, each page touched for the first time costs a fault: joining a
    million decoded rows at the end took a fifth of the copula's sampling time). A single
    frame is returned as it is. Any other column (categorical, nullable, dates with a time
    zone, or a numpy column whose dtype changes between frames) keeps its pieces and is
    joined by ``pd.concat``, which resolves the dtype as a concat of the frames does
    (pandas copies a frame of object columns block by block, about five times slower than
    a copy per column).

    Parameters
    ----------
    n_rows : int
        The rows expected in all (more or fewer are joined too, fewer without a copy).

    Examples
    --------
    >>> joiner = RowJoiner(3)
    >>> joiner.add(pd.DataFrame({"x": [1, 2], "s": ["p", None]}))
    >>> joiner.add(pd.DataFrame({"x": [3], "s": ["q"]}))
    >>> joiner.result().to_dict("list")
    {'x': [1, 2, 3], 's': ['p', None, 'q']}
    """

    def __init__(self, n_rows: int) -> None:
        self.n_rows = int(n_rows)
        self._columns: pd.Index | None = None
        self._first: pd.DataFrame | None = None  # a frame not copied yet
        self._arrays: list[np.ndarray | None] = []  # numpy columns, filled so far
        self._pieces: list[list[pd.Series]] = []  # the other columns' pieces
        self._filled = 0

    def add(self, frame: pd.DataFrame) -> None:
        """Join ``frame``'s rows after those added before."""
        if self._columns is None:
            self._columns, self._first = frame.columns, frame
            return
        if not frame.columns.equals(self._columns):
            raise ValueError("every frame joined must have the same columns")
        if self._first is not None:
            first, self._first = self._first, None
            size = max(self.n_rows, len(first) + len(frame))
            for dtype in first.dtypes:
                numpy = isinstance(dtype, np.dtype)
                self._arrays.append(np.empty(size, dtype=dtype) if numpy else None)
                self._pieces.append([])
            self._copy(first)
        self._copy(frame)

    def _copy(self, frame: pd.DataFrame) -> None:
        start, end = self._filled, self._filled + len(frame)
        for j, array in enumerate(self._arrays):
            column = frame.iloc[:, j]
            if array is not None and column.dtype == array.dtype and end <= len(array):
                array[start:end] = column.to_numpy()
                continue
            if array is not None:  # no longer one numpy dtype: joined from pieces
                self._pieces[j] = [pd.Series(array[:start], copy=False)]
                self._arrays[j] = None
            self._pieces[j].append(column)
        self._filled = end

    def result(self) -> pd.DataFrame:
        """The joined rows (index ``0 .. n - 1``)."""
        if self._columns is None:
            raise ValueError("no frame was added")
        if self._first is not None:
            return self._first
        columns = {}
        for j, array in enumerate(self._arrays):
            if array is None:
                columns[j] = pd.concat(self._pieces[j], ignore_index=True)
            else:
                whole = array if len(array) == self._filled else array[: self._filled]
                columns[j] = pd.Series(whole, copy=False)
        out = pd.DataFrame(columns, copy=False)
        out.columns = self._columns
        return out
