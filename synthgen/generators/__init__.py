"""Generator families, one module each, all built on :class:`BaseGenerator`."""

from synthgen.generators.base import BaseGenerator
from synthgen.generators.baselines import CopyCanary, GaussianCopula, IndependentMarginals
from synthgen.generators.registry import (
    get_generator_class,
    list_generators,
    make_generator,
    register,
)

__all__ = [
    "BaseGenerator",
    "CopyCanary",
    "GaussianCopula",
    "IndependentMarginals",
    "TabularDiffusion",
    "TabularGAN",
    "TabularTransformer",
    "TabularVAE",
    "get_generator_class",
    "list_generators",
    "make_generator",
    "register",
]


def __getattr__(name: str):
    # The neural generators import torch: load them on first use, not with the package.
    if name == "TabularDiffusion":
        from synthgen.generators.diffusion import TabularDiffusion

        return TabularDiffusion
    if name == "TabularGAN":
        from synthgen.generators.gan import TabularGAN

        return TabularGAN
    if name == "TabularVAE":
        from synthgen.generators.vae import TabularVAE

        return TabularVAE
    if name == "TabularTransformer":
        from synthgen.generators.transformer import TabularTransformer

        return TabularTransformer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
