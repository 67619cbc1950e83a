"""Generator families, one module or package each, all built on :class:`BaseGenerator`.

Families are found through the registry (:mod:`synthgen.generators.registry`), which imports a
family's module only when it is asked for: the neural ones import torch.
"""

from synthgen.generators.base import BaseGenerator
from synthgen.generators.neural import NeuralGenerator
from synthgen.generators.registry import (
    get_generator_class,
    list_generators,
    make_generator,
    register,
)
from synthgen.generators.shadow import cheap_to_refit, shadow_refit
from synthgen.generators.tags import GeneratorTags

__all__ = [
    "BaseGenerator",
    "CopyCanary",
    "DPMarginals",
    "GaussianCopula",
    "GeneratorTags",
    "IndependentMarginals",
    "NeuralGenerator",
    "TabularDiffusion",
    "TabularGAN",
    "TabularTransformer",
    "TabularVAE",
    "cheap_to_refit",
    "get_generator_class",
    "list_generators",
    "make_generator",
    "register",
    "shadow_refit",
]

_LAZY = {
    "CopyCanary": "copy",
    "DPMarginals": "dp_marginals",
    "GaussianCopula": "copula",
    "IndependentMarginals": "marginals",
    "TabularDiffusion": "diffusion",
    "TabularGAN": "gan",
    "TabularTransformer": "transformer",
    "TabularVAE": "vae",
}


def __getattr__(name: str):
    # Classes load on first use, through the registry: the neural ones import torch.
    if name in _LAZY:
        return get_generator_class(_LAZY[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
