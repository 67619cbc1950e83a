"""Generator families, one module each, all built on :class:`BaseGenerator`."""

from synthgen.generators.base import BaseGenerator
from synthgen.generators.baselines import CopyCanary, GaussianCopula, IndependentMarginals
from synthgen.generators.registry import (
    get_generator_class,
    list_generators,
    make_generator,
    register,
)
from synthgen.generators.transformer import TabularTransformer

__all__ = [
    "BaseGenerator",
    "CopyCanary",
    "GaussianCopula",
    "IndependentMarginals",
    "TabularTransformer",
    "get_generator_class",
    "list_generators",
    "make_generator",
    "register",
]
