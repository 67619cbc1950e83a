"""Noise schedules in continuous time, kept apart from the model.

A schedule maps a time ``t`` in ``[0, 1]`` to ``alpha(t)``: the share of the signal left at
``t``. It falls monotonically from 1 at ``t = 0`` to (about) 0 at ``t = 1``. The same object
serves both processes of the mixed diffusion:

- Gaussian diffusion on numbers: ``x_t = sqrt(alpha) x_0 + sqrt(1 - alpha) eps`` (variance
  preserving), so ``alpha`` is the usual cumulative product ``alpha_bar``;
- masked (absorbing) diffusion on categories: each category is still visible at ``t`` with
  probability ``alpha(t)`` and replaced by the mask token otherwise.

Schedules are plain objects with no state, so any callable with the same interface works.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from synthgen.exceptions import ConfigurationError

__all__ = ["CosineSchedule", "LinearSchedule", "Schedule", "make_schedule"]


class Schedule:
    """Base class: ``alpha(t)``, decreasing from 1 at ``t = 0`` towards 0 at ``t = 1``."""

    name = ""

    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        """Share of signal left at time ``t`` (a tensor of times in ``[0, 1]``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CosineSchedule(Schedule):
    """Nichol & Dhariwal (2021): ``alpha(t) = cos^2(pi/2 (t + s) / (1 + s))``, rescaled to 1 at 0.

    Destroys the signal slowly at both ends, which suits Gaussian diffusion on normal scores.

    Parameters
    ----------
    offset : float
        The small shift ``s`` that keeps the noise level at ``t = 0`` from being exactly 0.

    Examples
    --------
    >>> s = CosineSchedule()
    >>> [round(float(a), 4) for a in s.alpha(torch.tensor([0.0, 0.5, 1.0]))]
    [1.0, 0.4938, 0.0]
    """

    name = "cosine"

    def __init__(self, offset: float = 0.008) -> None:
        self.offset = offset

    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        s = self.offset
        f = torch.cos((t + s) / (1 + s) * (math.pi / 2)) ** 2
        f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
        return (f / f0).clamp(0.0, 1.0)


class LinearSchedule(Schedule):
    """``alpha(t) = 1 - t``: the linear masking schedule of masked diffusion (MDLM, TabDiff).

    Examples
    --------
    >>> [float(a) for a in LinearSchedule().alpha(torch.tensor([0.0, 0.25, 1.0]))]
    [1.0, 0.75, 0.0]
    """

    name = "linear"

    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        return (1.0 - t).clamp(0.0, 1.0)


_SCHEDULES: dict[str, type[Schedule]] = {"cosine": CosineSchedule, "linear": LinearSchedule}


def make_schedule(spec: Any, name: str = "schedule") -> Schedule:
    """A schedule from a name (``"cosine"``, ``"linear"``) or a :class:`Schedule` instance.

    ``name`` is the parameter named in the error message.

    Examples
    --------
    >>> make_schedule("cosine")
    CosineSchedule()
    >>> make_schedule("quadratic", "num_schedule")
    Traceback (most recent call last):
    ...
    synthgen.exceptions.ConfigurationError: num_schedule must be one of ... got 'quadratic'
    """
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, str) and spec in _SCHEDULES:
        return _SCHEDULES[spec]()
    options = ", ".join(repr(k) for k in _SCHEDULES)
    raise ConfigurationError(f"{name} must be one of {options} or a Schedule, got {spec!r}")
