"""Sampling timed over several draws of one fitted model (``--sample-repeats``)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["repeats_arg", "timed_draws"]

T = TypeVar("T")


def timed_draws(draw: Callable[[], T], repeats: int) -> tuple[T, list[float]]:
    """Call ``draw`` ``repeats`` times; its first result and every call's seconds.

    Examples
    --------
    >>> first, runs = timed_draws(lambda: 7, 3)
    >>> first, len(runs)
    (7, 3)
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    runs: list[float] = []
    for i in range(repeats):
        t0 = time.perf_counter()
        rows = draw()
        runs.append(time.perf_counter() - t0)
        if i == 0:
            first = rows
    return first, runs


def repeats_arg(text: str) -> int:
    """``--sample-repeats``: a whole number of at least one (argparse ``type``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value
