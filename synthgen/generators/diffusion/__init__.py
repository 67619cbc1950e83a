"""Diffusion generator: Gaussian diffusion on numbers, masked diffusion on categories.

Modules: :mod:`.schedules` (noise schedules as plain objects), :mod:`.denoiser` (the network),
:mod:`.process` (noising, loss, sampling and inpainting) and :mod:`.generator` (the estimator).
"""

from synthgen.generators.diffusion.generator import TabularDiffusion
from synthgen.generators.diffusion.schedules import CosineSchedule, LinearSchedule, Schedule

__all__ = ["CosineSchedule", "LinearSchedule", "Schedule", "TabularDiffusion"]
