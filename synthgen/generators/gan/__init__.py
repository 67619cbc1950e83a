"""The conditional tabular GAN (registry key ``"gan"``)."""

from synthgen.generators.gan.generator import TabularGAN
from synthgen.generators.gan.sampler import ConditionalSampler

__all__ = ["ConditionalSampler", "TabularGAN"]
